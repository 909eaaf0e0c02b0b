/// The arguments of LIST, basic and extended (RFC 9051 section 6.3.9, RFC 5258).
///
/// ```
/// list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
/// mbox-or-pat = list-mailbox / patterns
/// patterns    = "(" list-mailbox *(SP list-mailbox) ")"
/// ```
/// `C: A101 LIST (SUBSCRIBED) "" ("INBOX" "Drafts") RETURN (CHILDREN)`
public struct ListCommand: Hashable, Sendable {
    public var selectionOptions: [ListSelectOption]
    public var reference: MailboxName
    /// The patterns in wire form (modified UTF-7, with `%` and `*` wildcards).
    public var patterns: [String]
    public var returnOptions: [ListReturnOption]
    /// True when the command used any LIST-EXTENDED syntax (selection options, several
    /// patterns in parentheses, or RETURN): the server must answer in extended form.
    public var isExtended: Bool

    public init(selectionOptions: [ListSelectOption] = [], reference: MailboxName, patterns: [String],
                returnOptions: [ListReturnOption] = [], isExtended: Bool = false) {
        self.selectionOptions = selectionOptions
        self.reference = reference
        self.patterns = patterns
        self.returnOptions = returnOptions
        self.isExtended = isExtended
    }
}
