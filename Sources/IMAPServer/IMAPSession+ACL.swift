import IMAPGrammar
import MailCore

/// ACL (RFC 4314) as a grant's mailboxes have it: one user, the grant, who owns every mailbox.
/// GETACL, LISTRIGHTS and MYRIGHTS report the owner's rights; no right can be given to anyone else,
/// nor taken from the owner, so SETACL and DELETEACL change nothing and say so.
extension IMAPSession {
    /// Every right of RFC 4314 section 2.1, with the virtual `c` (`k` and `x` here) and `d` (`e` and
    /// `t`), which section 2.1.1 requires in every answer holding one of their members.
    static let ownerRights = "lrswipkxteacd"
    /// The six system folders cannot be deleted or renamed, so their owner lacks `x`.
    static let systemFolderOwnerRights = "lrswipkteacd"

    static func ownerRights(of folder: MailFolder) -> String {
        folder.systemFolder == nil ? ownerRights : systemFolderOwnerRights
    }

    func isOwner(_ identifier: String, _ grant: Grant) -> Bool {
        identifier.lowercased() == grant.email.normalized
    }

    func accessControl(_ grant: Grant, _ command: Command, tag: String) async throws -> [Response] {
        func ok(_ text: String) -> Response { .tagged(TaggedResponse(tag: tag, state: .ok, text)) }
        switch command {
        case .getACL(let mailbox):
            let folder = try await lookUpFolder(grant, mailbox)
            let entry = ACLEntry(identifier: grant.email.address, rights: Self.ownerRights(of: folder))
            return [.untagged(.acl(mailbox, [entry])), ok("GETACL completed")]
        case .myRights(let mailbox):
            let folder = try await lookUpFolder(grant, mailbox)
            return [.untagged(.myRights(mailbox, Self.ownerRights(of: folder))), ok("MYRIGHTS completed")]
        case .listRights(let mailbox, let identifier):
            try Self.requireIdentifier(identifier)
            let folder = try await lookUpFolder(grant, mailbox)
            // The owner always has all of its rights; anyone else can be granted none.
            let required = isOwner(identifier, grant) ? Self.ownerRights(of: folder) : ""
            return [.untagged(.listRights(mailbox, identifier: identifier, required: required, optional: [])), ok("LISTRIGHTS completed")]
        case .setACL(let mailbox, let identifier, let modification):
            try Self.requireIdentifier(identifier)
            let folder = try await lookUpFolder(grant, mailbox)
            let current = Self.ownerRights(of: folder)
            guard isOwner(identifier, grant) else {
                throw IMAPCommandError(.no, code: .cannot, "This mailbox has one user; rights cannot be given to \(identifier)")
            }
            // Setting what the owner has already is no change; anything else would be one.
            let named = Set(Self.modernRights(modification.rights))
            // What the owner holds, without the virtual c and d that stand for it.
            let held = Set(current.filter { $0 != "c" && $0 != "d" })
            let unchanged = switch modification.mode {
            case .add: named.isSubset(of: held)
            case .remove: named.isDisjoint(with: held)
            case .replace: named == held
            }
            guard unchanged else { throw IMAPCommandError(.no, code: .cannot, "The owner's rights are fixed") }
            return [ok("SETACL completed")]
        case .deleteACL(let mailbox, let identifier):
            try Self.requireIdentifier(identifier)
            _ = try await lookUpFolder(grant, mailbox)
            if isOwner(identifier, grant) { throw IMAPCommandError(.no, code: .cannot, "The owner's rights are fixed") }
            // RFC 4314 3.2 removes the identifier's entry; there is none to remove.
            return [ok("DELETEACL completed")]
        default:
            throw IMAPCommandError(.bad, "\(command.name) is not an ACL command")
        }
    }

    /// RFC 4314 2.1.1, in the grouping this server uses: `c` stands for `k` and `x`, `d` for `e`
    /// and `t`.
    static func modernRights(_ rights: String) -> String {
        var expanded = ""
        for right in rights {
            switch right {
            case "c": expanded += "kx"
            case "d": expanded += "et"
            default: expanded.append(right)
            }
        }
        return expanded
    }

    /// RFC 4314 3: an empty identifier is BAD.
    static func requireIdentifier(_ identifier: String) throws {
        guard !identifier.isEmpty else { throw IMAPCommandError(.bad, "The identifier is empty") }
    }
}
