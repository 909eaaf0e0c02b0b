import IMAPGrammar
import MailCore

/// ACL (RFC 4314) as a grant's mailboxes have it: one user, the grant, who owns every mailbox.
/// GETACL, LISTRIGHTS and MYRIGHTS report the owner's rights; no right can be given to anyone else,
/// nor taken from the owner, so SETACL and DELETEACL change nothing and say so.
extension IMAPSession {
    /// Every right of RFC 4314 section 2.1, in its order.
    static let ownerRights = "lrswipkxtea"
    /// The six system folders cannot be deleted or renamed, so their owner lacks `x`.
    static let systemFolderOwnerRights = "lrswipktea"

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
            let folder = try await lookUpFolder(grant, mailbox)
            // The owner always has all of its rights; anyone else can be granted none.
            let required = isOwner(identifier, grant) ? Self.ownerRights(of: folder) : ""
            return [.untagged(.listRights(mailbox, identifier: identifier, required: required, optional: [])), ok("LISTRIGHTS completed")]
        case .setACL(let mailbox, let identifier, let modification):
            let folder = try await lookUpFolder(grant, mailbox)
            let current = Self.ownerRights(of: folder)
            guard isOwner(identifier, grant) else {
                throw IMAPCommandError(.no, code: .cannot, "This mailbox has one user; rights cannot be given to \(identifier)")
            }
            // Setting what the owner has already is no change; anything else would be one.
            let unchanged = switch modification.mode {
            case .add: Self.modernRights(modification.rights).allSatisfy(current.contains)
            case .remove: modification.rights.isEmpty
            case .replace: Set(Self.modernRights(modification.rights)) == Set(current)
            }
            guard unchanged else { throw IMAPCommandError(.no, code: .cannot, "The owner's rights are fixed") }
            return [ok("SETACL completed")]
        case .deleteACL(let mailbox, let identifier):
            _ = try await lookUpFolder(grant, mailbox)
            if isOwner(identifier, grant) { throw IMAPCommandError(.no, code: .cannot, "The owner's rights are fixed") }
            throw IMAPCommandError(.no, code: .cannot, "\(identifier) has no rights on this mailbox")
        default:
            throw IMAPCommandError(.bad, "\(command.name) is not an ACL command")
        }
    }

    /// RFC 4314 2.1.1: the obsolete `c` stands for `k` and `x`, `d` for `e`, `t` and `x`.
    static func modernRights(_ rights: String) -> String {
        var expanded = ""
        for right in rights {
            switch right {
            case "c": expanded += "kx"
            case "d": expanded += "etx"
            default: expanded.append(right)
            }
        }
        return expanded
    }
}
