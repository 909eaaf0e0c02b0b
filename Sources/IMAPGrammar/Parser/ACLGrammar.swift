/// ACL commands (RFC 4314 section 3).
extension GrammarCursor {
    // setacl = "SETACL" SP mailbox SP identifier SP mod-rights
    mutating func setACL() throws(GrammarError) -> Command {
        try space()
        let mailbox = try self.mailbox()
        try space()
        let identifier = try astringText()
        try space()
        return .setACL(mailbox, identifier: identifier, try modRights())
    }

    // deleteacl = "DELETEACL" SP mailbox SP identifier
    // listrights = "LISTRIGHTS" SP mailbox SP identifier
    mutating func mailboxAndIdentifier() throws(GrammarError) -> (MailboxName, String) {
        try space()
        let mailbox = try self.mailbox()
        try space()
        return (mailbox, try astringText())
    }

    // mod-rights = astring ; +rights to add, -rights to remove
    // An unknown right makes the command BAD (RFC 4314 section 3.1).
    mutating func modRights() throws(GrammarError) -> RightsModification {
        var text = try astringText()
        var mode = RightsModification.Mode.replace
        if text.first == "+" {
            mode = .add
            text.removeFirst()
        } else if text.first == "-" {
            mode = .remove
            text.removeFirst()
        }
        guard text.allSatisfy(RightsModification.knownRights.contains) else { throw .syntax("unknown right in \(text)") }
        return RightsModification(mode, text)
    }
}
