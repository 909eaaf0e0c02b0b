import MailCore
import Testing

@testable import HTTPAPI

@Suite struct GuardrailValidationTests {
    static func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as APIError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: [
        ("limit_storage_total", -1, true), ("limit_storage_total", -2, false),
        ("limit_attachment_size_limit", -1, false), ("limit_attachment_count_limit", 0, true),
        ("limit_count_daily_email_sent", -1, true), ("limit_size_total_mime", 26_214_400, true),
    ])
    func unlimitedOnlyWhereAllowed(_ field: String, _ value: Int64, _ accepted: Bool) {
        var limits = MailPolicy.Limits()
        switch field {
        case "limit_storage_total": limits.storageTotal = value
        case "limit_attachment_size_limit": limits.attachmentSizeLimit = value
        case "limit_attachment_count_limit": limits.attachmentCountLimit = value
        case "limit_count_daily_email_sent": limits.countDailyEmailSent = value
        default: limits.sizeTotalMIME = value
        }
        let refusal = Self.message { _ = try GuardrailValidation.limits(limits, over: .init()) }
        #expect((refusal == nil) == accepted)
        if let refusal { #expect(refusal.contains(field)) }
    }

    @Test(arguments: [(Int64(30), Int64(7), true), (7, 7, false), (7, 30, false), (-1, 30, true), (30, -1, false)])
    func inboxRetentionOutlastsSpamRetention(_ inbox: Int64, _ spam: Int64, _ accepted: Bool) {
        var limits = MailPolicy.Limits()
        limits.inboxRetentionPeriod = inbox
        limits.spamRetentionPeriod = spam
        #expect((Self.message { _ = try GuardrailValidation.limits(limits, over: .init()) } == nil) == accepted)
    }

    /// A partial update keeps what it does not name, and is checked merged.
    @Test func limitsMergeFieldByField() throws {
        var current = MailPolicy.Limits()
        current.inboxRetentionPeriod = 30
        current.spamRetentionPeriod = 7
        var update = MailPolicy.Limits()
        update.countDailyEmailSent = 100
        let merged = try GuardrailValidation.limits(update, over: current)
        #expect(merged.inboxRetentionPeriod == 30 && merged.countDailyEmailSent == 100)
        update.inboxRetentionPeriod = 5
        #expect(Self.message { _ = try GuardrailValidation.limits(update, over: current) }?.contains("limit_inbox_retention_period") == true)
    }

    @Test(arguments: [("image/png", true), ("image/*", true), ("application/vnd.ms-excel", true), ("images", false), ("*/*", false), ("a/b/c", false)])
    func mediaTypePatterns(_ text: String, _ valid: Bool) {
        #expect(GuardrailValidation.isMediaTypePattern(text) == valid)
    }

    @Test func itemsAreDeduplicatedAfterNormalising() throws {
        #expect(try GuardrailValidation.items(["A.test", "a.TEST ", "b.test"], kind: .domain) == ["a.test", "b.test"])
        #expect(Self.message { _ = try GuardrailValidation.items([], kind: .domain) } != nil)
        #expect(Self.message { _ = try GuardrailValidation.items(Array(repeating: "a.test", count: 1001), kind: .domain) } != nil)
    }

    @Test func blockStandsAlone() {
        #expect(Self.message { _ = try GuardrailValidation.actions([.init(type: "block", value: nil), .init(type: "trash", value: nil)]) }?
            .contains("block cannot be combined") == true)
        #expect(Self.message { _ = try GuardrailValidation.actions([.init(type: "block", value: nil)]) } == nil)
    }
}
