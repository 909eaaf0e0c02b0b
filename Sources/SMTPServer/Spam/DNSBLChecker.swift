import MailCore
import MailPipeline
import Metrics
import NIOConcurrencyHelpers

/// The DNSBL part of spam detection: asks each zone of `spam.dnsbl_zones` whether it lists the
/// connecting address (RFC 5782). A zone that lists it adds `spam.dnsbl_score`; one that cannot be
/// asked in time adds nothing and says so in the record. Answers are kept a few minutes per
/// address and zone, so a busy sender costs one lookup, not one per message.
public final class DNSBLChecker: SenderReputation {
    public let zones: [String]
    public let score: Double
    let resolver: DNSResolver
    private let cache = NIOLockedValueBox<[String: (verdict: ZoneVerdict, until: Int64)]>([:])

    static let cacheSeconds: Int64 = 300
    static let cacheEntries = 10_000

    enum ZoneVerdict: Sendable, Hashable {
        case listed([UInt8])
        case clear
        case unknown(String)
    }

    public init(zones: [String], score: Double, resolver: DNSResolver) {
        self.zones = zones
        self.score = score
        self.resolver = resolver
    }

    public func checks(forClient address: String) async -> [SpamVerdict.Check] {
        await withTaskGroup(of: (String, ZoneVerdict).self) { group in
            for zone in zones { group.addTask { (zone, await self.verdict(address, zone)) } }
            var checks: [SpamVerdict.Check] = []
            for await (zone, verdict) in group {
                switch verdict {
                case .listed(let code):
                    checks.append(.init(name: Self.checkName(zone), score: score,
                                        detail: "\(address) is listed by \(zone) (\(code.map(String.init).joined(separator: ".")))"))
                case .unknown(let why):
                    checks.append(.init(name: Self.checkName(zone) + "_UNAVAILABLE", score: 0, detail: "\(zone) not asked: \(why)"))
                case .clear:
                    break
                }
            }
            return checks.sorted { $0.name < $1.name }
        }
    }

    /// `DNSBL_` and the zone in upper case, other characters as `_`.
    static func checkName(_ zone: String) -> String {
        "DNSBL_" + String(zone.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    func verdict(_ address: String, _ zone: String) async -> ZoneVerdict {
        let key = "\(address) \(zone)", now = WallClock.unixSeconds()
        if let cached = cache.withLockedValue({ $0[key] }), cached.until > now { return cached.verdict }
        let verdict = await lookUp(address, zone)
        Counter(label: "mailnode_dnsbl_lookups_total", dimensions: [("zone", zone), ("result", Self.label(verdict))]).increment()
        if case .unknown = verdict { return verdict }
        cache.withLockedValue { entries in
            if entries.count >= Self.cacheEntries { entries = entries.filter { $0.value.until > now } }
            if entries.count < Self.cacheEntries { entries[key] = (verdict, now + Self.cacheSeconds) }
        }
        return verdict
    }

    private func lookUp(_ address: String, _ zone: String) async -> ZoneVerdict {
        guard let name = DNSMessage.dnsblName(for: address, zone: zone) else { return .unknown("not an IP address") }
        do {
            let answer = try await resolver.lookup(name)
            switch answer.code {
            case .nameError:
                return .clear
            case .noError:
                // 127.0.0.0/8 is a listing (RFC 5782 2.3); 127.255.255.x are the zones' own error
                // answers (a refused or rate-limited resolver), not listings.
                let listings = answer.addresses.filter { $0[0] == 127 && !($0[1] == 255 && $0[2] == 255) }
                if let first = listings.first { return .listed(first) }
                return answer.addresses.isEmpty ? .clear : .unknown("the zone answered \(answer.addresses[0].map(String.init).joined(separator: "."))")
            case .other(let code):
                return .unknown("the resolver answered code \(code)")
            }
        } catch DNSResolver.Failure.timedOut {
            return .unknown("no answer within \(resolver.timeout)")
        } catch {
            return .unknown("\(error)")
        }
    }

    static func label(_ verdict: ZoneVerdict) -> String {
        switch verdict {
        case .listed: "listed"
        case .clear: "clear"
        case .unknown: "unavailable"
        }
    }
}
