import Testing

@testable import MailCore

@Suite struct MailPlanTests {
    /// The reference's Free plan, as the example region files write it.
    static let free: MailPlan = {
        var maxima = MailPolicy.Limits()
        maxima.attachmentSizeLimit = 52_428_800
        maxima.attachmentCountLimit = 10
        maxima.storageTotal = 3_000_000_000
        maxima.countDailyEmailSent = 200
        maxima.inboxRetentionPeriod = 30
        maxima.spamRetentionPeriod = 7
        maxima.countDailyMessageReceived = -1
        return MailPlan(name: "free", maxima: maxima)
    }()

    @Test(arguments: [
        // field, value, refusal naming the field (nil: allowed)
        ("limit_count_daily_email_sent", Int64(200), false), ("limit_count_daily_email_sent", 201, true),
        ("limit_count_daily_email_sent", -1, true), ("limit_count_daily_message_received", -1, false),
        ("limit_count_daily_message_received", 1_000_000, false), ("limit_storage_total", 3_000_000_001, true),
        ("limit_attachment_count_limit", 10, false), ("limit_attachment_count_limit", 11, true),
        ("limit_inbox_retention_period", 31, true), ("limit_size_total_mime", 1_000_000_000, false),
    ])
    func policiesStayWithinThePlan(_ field: String, _ value: Int64, _ refused: Bool) {
        var limits = MailPolicy.Limits()
        switch field {
        case "limit_count_daily_email_sent": limits.countDailyEmailSent = value
        case "limit_count_daily_message_received": limits.countDailyMessageReceived = value
        case "limit_storage_total": limits.storageTotal = value
        case "limit_attachment_count_limit": limits.attachmentCountLimit = value
        case "limit_inbox_retention_period": limits.inboxRetentionPeriod = value
        default: limits.sizeTotalMIME = value
        }
        let excess = Self.free.excess(limits)
        #expect((excess != nil) == refused)
        #expect(excess.map { $0.field == field } ?? true)
        if value == -1, let excess { #expect(excess.text.contains("unlimited")) }
    }

    @Test func withoutMaximaEverythingIsAllowed() {
        var limits = MailPolicy.Limits()
        limits.storageTotal = -1
        limits.countDailyEmailSent = Int64.max
        limits.attachmentAllowedTypes = ["application/zip"]
        #expect(MailPlan.unlimited.excess(limits) == nil)
        #expect(MailPlan.unlimited.effective(nil) == MailPolicy.Limits())
    }

    /// What a policy leaves out is the plan's; what it says is its own.
    @Test func effectiveLimitsFillFromThePlan() {
        var policy = MailPolicy.Limits()
        policy.countDailyEmailSent = 5
        policy.attachmentAllowedTypes = []
        let effective = Self.free.effective(policy)
        #expect(effective.countDailyEmailSent == 5)
        #expect(effective.storageTotal == 3_000_000_000 && effective.inboxRetentionPeriod == 30 && effective.attachmentCountLimit == 10)
        #expect(effective.attachmentAllowedTypes == nil)
        #expect(Self.free.effective(nil) == Self.free.maxima)
    }

    @Test(arguments: [("image/png", "image/*", true), ("image/*", "image/*", true), ("application/pdf", "image/*", false),
                      ("text/plain", "*/*", true), ("TEXT/Plain", "text/plain", true)])
    func allowedTypesOfThePlanCoverThePolicy(_ type: String, _ allowed: String, _ covered: Bool) {
        var plan = MailPlan(name: "p", maxima: .init())
        plan.maxima.attachmentAllowedTypes = [allowed]
        var limits = MailPolicy.Limits()
        limits.attachmentAllowedTypes = [type]
        #expect((plan.excess(limits) == nil) == covered)
    }

    @Test(arguments: [
        (Int64(0), Int64(0), Int64(86_400)), (86_399, 0, 1), (86_400, 1, 86_400), (1_796_000_000, 20_787, 83_200),
        (-1, -1, 1),
    ])
    func daysBeginAtMidnightUTC(_ seconds: Int64, _ day: Int64, _ untilNext: Int64) {
        #expect(UTCDay.number(at: seconds) == day)
        #expect(UTCDay.secondsToNext(from: seconds) == untilNext)
    }
}
