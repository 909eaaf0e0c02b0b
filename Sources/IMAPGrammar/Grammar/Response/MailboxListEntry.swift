/// The data of an untagged LIST or LSUB response (RFC 9051 section 7.3.1, RFC 5258 CHILDINFO).
///
/// ```
/// mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
///                [SP "(" mbox-list-extended ")"]
/// ```
/// `S: * LIST (\HasNoChildren \Sent) "/" Sent`
public struct MailboxListEntry: Hashable, Sendable {
    public var attributes: [MailboxAttribute]
    /// nil for a flat namespace (`NIL`).
    public var delimiter: Character?
    public var name: MailboxName
    /// RFC 5258 `("CHILDINFO" ("SUBSCRIBED"))`: selection criteria met by children.
    public var childInfo: [String]
    /// RFC 5465 5.4 / RFC 9051 `("OLDNAME" ("name"))`: the name a renamed mailbox had.
    public var oldName: MailboxName?

    public init(attributes: [MailboxAttribute], delimiter: Character?, name: MailboxName, childInfo: [String] = [],
                oldName: MailboxName? = nil) {
        self.attributes = attributes
        self.delimiter = delimiter
        self.name = name
        self.childInfo = childInfo
        self.oldName = oldName
    }

    func write(into writer: inout ResponseWriter) {
        writer.writeList(attributes) { w, a in w.writeString(a.wire) }
        writer.writeString(" ")
        if let delimiter {
            writer.writeIMAPString(String(delimiter))
        } else {
            writer.writeString("NIL")
        }
        writer.writeString(" ")
        writer.writeMailbox(name)
        var extended: [(inout ResponseWriter) -> Void] = []
        if !childInfo.isEmpty {
            extended.append { w in
                w.writeString("\"CHILDINFO\" ")
                w.writeList(childInfo) { w, c in w.writeIMAPString(c) }
            }
        }
        if let oldName {
            extended.append { w in
                w.writeString("\"OLDNAME\" (")
                w.writeMailbox(oldName)
                w.writeString(")")
            }
        }
        guard !extended.isEmpty else { return }
        writer.writeString(" (")
        for (index, item) in extended.enumerated() {
            if index > 0 { writer.writeString(" ") }
            item(&writer)
        }
        writer.writeString(")")
    }
}
