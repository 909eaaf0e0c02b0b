import IMAPGrammar
import MailCore

/// METADATA (RFC 5464): entries on each mailbox and on the server (the grant itself, mailbox name
/// `""`), kept in Postgres, so every node reads the same. A grant's mailboxes have one user, so
/// `/private` and `/shared` entries are both that user's.
///
/// Bounds: a value holds at most `metadataValueLimit` bytes (`NO [METADATA MAXSIZE n]`), a grant at
/// most `metadataEntryLimit` entries over all its mailboxes (`NO [METADATA TOOMANY]`), an entry name
/// at most 1024 bytes (`BAD`).
extension IMAPSession {
    static let metadataValueLimit = 16 * 1024
    static let metadataEntryLimit = 1_000
    /// RFC 6154 section 4: a mailbox's special use, readable as an entry and set by the server alone.
    static let specialUseEntry = "/private/specialuse"

    func metadata(_ grant: Grant, _ command: Command, tag: String) async throws -> [Response] {
        switch command {
        case .getMetadata(let mailbox, let options, let entries):
            return try await getMetadata(grant, mailbox, options, entries, tag: tag)
        case .setMetadata(let mailbox, let entries):
            return try await setMetadata(grant, mailbox, entries, tag: tag)
        default:
            throw IMAPCommandError(.bad, "\(command.name) is not a METADATA command")
        }
    }

    /// The folder a METADATA command names: nil for the server's entries.
    private func metadataFolder(_ grant: Grant, _ mailbox: MailboxName) async throws -> MailFolder? {
        mailbox.wire.isEmpty ? nil : try await lookUpFolder(grant, mailbox)
    }

    private func getMetadata(_ grant: Grant, _ mailbox: MailboxName, _ options: MetadataOptions, _ names: [String],
                             tag: String) async throws -> [Response] {
        let folder = try await metadataFolder(grant, mailbox)
        var stored = try await context.store.annotations(grant: grant.id, folderID: folder?.id, under: names,
                                                         descendants: options.depth != .zero)
        if let folder, let use = Self.useAttribute(of: folder) {
            stored.append(MailboxAnnotation(name: Self.specialUseEntry, value: Array(use.utf8)))
        }
        var found: [MetadataEntry] = []
        var longest: UInt64 = 0
        for name in names {
            // An entry asked for alone (DEPTH 0) that does not exist is answered NIL, as other servers do.
            let wanted = stored.filter { Self.isWithin($0.name, name, depth: options.depth) }
            if options.depth == .zero, wanted.isEmpty, !found.contains(where: { $0.name == name }) {
                found.append(MetadataEntry(name, value: nil))
            }
            for annotation in wanted where !found.contains(where: { $0.name == annotation.name }) {
                let size = UInt64(annotation.value?.count ?? 0)
                if let limit = options.maxSize, size > limit {
                    longest = max(longest, size)
                    continue
                }
                found.append(MetadataEntry(annotation.name, value: annotation.value))
            }
        }
        var responses: [Response] = found.isEmpty ? [] : [.untagged(.metadata(mailbox, found, namesOnly: false))]
        let code: ResponseCode? = longest > 0 ? .metadata(.longEntries(longest)) : nil
        responses.append(.tagged(TaggedResponse(tag: tag, state: .ok, code: code, "GETMETADATA completed")))
        return responses
    }

    /// Whether entry `name` is `requested` or below it no deeper than `depth` (RFC 5464 4.2.2).
    static func isWithin(_ name: String, _ requested: String, depth: MetadataOptions.Depth) -> Bool {
        if name == requested { return true }
        guard name.hasPrefix(requested + "/") else { return false }
        switch depth {
        case .zero: return false
        case .one: return !name.dropFirst(requested.count + 1).contains("/")
        case .infinity: return true
        }
    }

    private func setMetadata(_ grant: Grant, _ mailbox: MailboxName, _ entries: [MetadataEntry], tag: String) async throws -> [Response] {
        let folder = try await metadataFolder(grant, mailbox)
        for entry in entries {
            guard entry.isSettable else { throw IMAPCommandError(.bad, "\(entry.name) names a hierarchy, not an entry") }
            if entry.name == Self.specialUseEntry {
                throw IMAPCommandError(.no, code: .cannot, "A mailbox's special use is set by the server")
            }
            if let value = entry.value, value.count > Self.metadataValueLimit {
                throw IMAPCommandError(.no, code: .metadata(.maxSize(UInt64(Self.metadataValueLimit))), "Value too long")
            }
        }
        let changes = entries.map { MailboxAnnotation(name: $0.name, value: $0.value) }
        guard try await context.store.setAnnotations(grant: grant.id, folderID: folder?.id, changes, limit: Self.metadataEntryLimit) else {
            throw IMAPCommandError(.no, code: .metadata(.tooMany), "Too many metadata entries (at most \(Self.metadataEntryLimit))")
        }
        return [.tagged(TaggedResponse(tag: tag, state: .ok, "SETMETADATA completed"))]
    }
}
