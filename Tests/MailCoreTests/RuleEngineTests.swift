import MailCore
import Testing

@Suite struct RuleEngineTests {
    static func rule(_ id: String, priority: Int = 10, trigger: MailRule.Trigger = .inbound, enabled: Bool = true, any: Bool = false,
                     _ conditions: [MailRule.Condition], _ actions: [MailRule.Action]) -> MailRule {
        MailRule(id: id, name: id, description: nil, priority: priority, enabled: enabled, trigger: trigger,
                 match: .init(operator: any ? .any : .all, conditions: conditions), actions: actions, createdAt: 0, updatedAt: 0)
    }

    static func when(_ field: MailRule.Field, _ op: MailRule.Operator, _ value: String) -> MailRule.Condition {
        .init(field: field, operator: op, value: .text(value))
    }

    static let inbound = RuleInput(fromAddress: "Alice@Mail.Example.ORG")
    static let outbound = RuleInput(fromAddress: "agent@agents.test", recipientAddresses: ["a@one.test", "B@Two.io"], outboundType: "reply")

    /// Each condition on its own, against the inbound or outbound input.
    @Test(arguments: [
        (when(.fromAddress, .is, "alice@mail.example.org"), inbound, true),
        (when(.fromAddress, .is, "ALICE@MAIL.EXAMPLE.ORG"), inbound, true),
        (when(.fromDomain, .is, "mail.example.org"), inbound, true),
        (when(.fromDomain, .is, "example.org"), inbound, false),
        (when(.fromDomain, .contains, "EXAMPLE"), inbound, true),
        (when(.fromTLD, .is, "org"), inbound, true),
        (when(.fromTLD, .isNot, "org"), inbound, false),
        (when(.fromAddress, .isNot, "bob@x.test"), inbound, true),
        (when(.recipientDomain, .is, "two.io"), outbound, true),
        (when(.recipientDomain, .isNot, "two.io"), outbound, false),
        (when(.recipientDomain, .isNot, "three.io"), outbound, true),
        (when(.recipientTLD, .is, "test"), outbound, true),
        (when(.recipientAddress, .contains, "b@"), outbound, true),
        (when(.outboundType, .is, "reply"), outbound, true),
        (when(.outboundType, .isNot, "compose"), outbound, true),
        (when(.outboundType, .is, "compose"), outbound, false),
    ])
    func conditions(_ condition: MailRule.Condition, _ input: RuleInput, _ expected: Bool) {
        let trigger: MailRule.Trigger = input == Self.outbound ? .outbound : .inbound
        let outcome = RuleEngine.evaluate([Self.rule("r", trigger: trigger, [condition], [.init(type: .markAsRead)])], trigger: trigger,
                                          input: input) { _, _ in false }
        #expect(outcome.matchedRuleIDs == (expected ? ["r"] : []))
        #expect(outcome.evaluatedAny)
    }

    @Test func inListLooksUpEachValueOfTheField() {
        let condition = MailRule.Condition(field: .recipientDomain, operator: .inList, value: .lists(["l1", "l2"]))
        var asked: [String] = []
        let outcome = RuleEngine.evaluate([Self.rule("r", trigger: .outbound, [condition], [.init(type: .block)])], trigger: .outbound,
                                          input: Self.outbound) { list, value in
            asked.append("\(list) \(value)")
            return list == "l2" && value == "two.io"
        }
        #expect(outcome.actions.blocked)
        #expect(asked.contains("l2 two.io"))
    }

    @Test func allAndAny() {
        let yes = Self.when(.fromTLD, .is, "org"), no = Self.when(.fromTLD, .is, "net")
        let rules = [Self.rule("all", [yes, no], [.init(type: .archive)]), Self.rule("any", any: true, [yes, no], [.init(type: .trash)])]
        let outcome = RuleEngine.evaluate(rules, trigger: .inbound, input: Self.inbound) { _, _ in false }
        #expect(outcome.matchedRuleIDs == ["any"])
        #expect(outcome.actions.trashed && !outcome.actions.archived)
    }

    /// Every matching rule applies, lowest priority first; disabled rules and rules of the other
    /// trigger are not looked at.
    @Test func everyMatchAppliesInPriorityOrder() {
        let always = Self.when(.fromTLD, .isNot, "none")
        let rules = [
            Self.rule("late", priority: 500, [always], [.init(type: .assignToFolder, value: "Later")]),
            Self.rule("early", priority: 1, [always], [.init(type: .assignToFolder, value: "First"), .init(type: .markAsStarred)]),
            Self.rule("off", enabled: false, [always], [.init(type: .block)]),
            Self.rule("out", trigger: .outbound, [always], [.init(type: .block)]),
        ]
        let outcome = RuleEngine.evaluate(rules, trigger: .inbound, input: Self.inbound) { _, _ in false }
        #expect(outcome.matchedRuleIDs == ["early", "late"])
        #expect(outcome.actions.folders == ["First", "Later"])
        #expect(outcome.actions.markedStarred && !outcome.actions.blocked)
    }

    @Test func noSenderConditionHoldsForTheNullSender() {
        let bounce = RuleInput(fromAddress: "")
        for condition in [Self.when(.fromDomain, .isNot, "partner.test"), Self.when(.fromAddress, .is, ""), Self.when(.fromTLD, .contains, "")] {
            let outcome = RuleEngine.evaluate([Self.rule("r", [condition], [.init(type: .block)])], trigger: .inbound, input: bounce) { _, _ in true }
            #expect(!outcome.actions.blocked, "\(condition)")
        }
    }

    @Test func noRulesMeansNothingEvaluated() {
        let outcome = RuleEngine.evaluate([], trigger: .inbound, input: Self.inbound) { _, _ in false }
        #expect(!outcome.evaluatedAny && outcome.actions.isEmpty)
    }

    @Test(arguments: [
        (" Example.COM ", AddressList.Kind.domain, Optional("example.com")),
        ("mail.example.co.uk", .domain, "mail.example.co.uk"),
        ("a@b.test", .domain, nil),
        ("-bad.test", .domain, nil),
        ("a..b", .domain, nil),
        (".ZZ", .tld, "zz"),
        ("co.uk", .tld, nil),
        ("User@Example.com", .address, "user@example.com"),
        ("not an address", .address, nil),
        ("", .address, nil),
    ])
    func listItemsAreNormalisedPerKind(_ item: String, _ kind: AddressList.Kind, _ expected: String?) {
        #expect(AddressList.normalized(item, kind: kind) == expected)
    }
}
