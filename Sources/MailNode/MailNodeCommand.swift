import ArgumentParser

@main
struct MailNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailnode",
        abstract: "A node of the multi-region mail cluster: REST API, IMAP and SMTP over one mailbox store.",
        subcommands: [ServeCommand.self, MigrateCommand.self, RoutingCommand.self, NodesCommand.self, GrantsCommand.self,
                      QueueCommand.self, DrainCommand.self, PoliciesCommand.self, RulesCommand.self, ListsCommand.self,
                      RetentionCommand.self])
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The region file, e.g. regions/us.yaml.")
    var config: String
}
