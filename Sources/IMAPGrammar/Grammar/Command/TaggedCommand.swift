/// A command with the tag the client chose for it.
///
/// ```
/// command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF
/// tag     = 1*<any ASTRING-CHAR except "+">
/// ```
public struct TaggedCommand: Hashable, Sendable {
    public var tag: String
    public var command: Command

    public init(tag: String, command: Command) {
        self.tag = tag
        self.command = command
    }
}
