/// What spam detection made of one arriving message: the checks that fired with their scores,
/// their sum against the threshold the policy's `spam_sensitivity` sets, and the verdict.
public struct SpamVerdict: Sendable, Hashable, Codable {
    public struct Check: Sendable, Hashable, Codable {
        /// A short upper-case name (`DNSBL_ZEN_SPAMHAUS_ORG`, `MISSING_DATE`).
        public var name: String
        public var score: Double
        /// What it found, for a person reading the record.
        public var detail: String

        public init(name: String, score: Double, detail: String) {
            self.name = name
            self.score = score
            self.detail = detail
        }
    }

    public var checks: [Check]
    public var threshold: Double

    /// The score at which a message is spam at the default sensitivity (1.0); sensitivity s makes
    /// it `baseThreshold / s`, so a higher sensitivity marks more mail as spam.
    public static let baseThreshold = 5.0

    public init(checks: [Check], sensitivity: Double) {
        self.checks = checks
        threshold = Self.baseThreshold / max(sensitivity, 0.1)
    }

    public var score: Double { checks.reduce(0) { $0 + $1.score } }
    public var isSpam: Bool { score >= threshold }

    enum CodingKeys: String, CodingKey {
        case checks, threshold, score, isSpam = "is_spam"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        checks = try container.decode([Check].self, forKey: .checks)
        threshold = try container.decode(Double.self, forKey: .threshold)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(checks, forKey: .checks)
        try container.encode(threshold, forKey: .threshold)
        try container.encode(Self.rounded(score), forKey: .score)
        try container.encode(isSpam, forKey: .isSpam)
    }

    /// The header fields that explain it at the top of the stored message (SpamAssassin's shape,
    /// which mail clients and filters read).
    public var headerFields: String {
        let tests = checks.map(\.name).joined(separator: ",")
        var text = "X-Spam-Status: \(isSpam ? "Yes" : "No"), score=\(Self.formatted(score)) required=\(Self.formatted(threshold))"
            + " tests=\(tests.isEmpty ? "none" : tests)\r\n"
        if isSpam { text += "X-Spam-Flag: YES\r\n" }
        return text
    }

    static func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }

    static func formatted(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = abs(hundredths % 100)
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
