import Metrics
import Synchronization

/// The SMTP metrics of the admin endpoint, named in one place.
enum SMTPMetrics {
    static func sessionOpened(listener: String) {
        Counter(label: "mailnode_smtp_sessions_total", dimensions: [("listener", listener)]).increment()
    }

    static func sessions(listener: String) -> Meter {
        Meter(label: "mailnode_smtp_sessions", dimensions: [("listener", listener)])
    }

    /// `outcome` is the reply class: `2xx`, `3xx`, `4xx`, `5xx`.
    static func command(_ verb: String, outcome: String) {
        counter("mailnode_smtp_commands_total", [("command", verb), ("outcome", outcome)]).increment()
    }

    static func messageAccepted(listener: String, bytes: Int) {
        counter("mailnode_smtp_messages_total", [("listener", listener), ("outcome", "accepted")]).increment()
        counter("mailnode_smtp_message_bytes_total", [("listener", listener), ("outcome", "accepted")]).increment(by: Int64(bytes))
    }

    /// The counters counted for every reply and every message, made once per label set (a few
    /// dozen): looking a metric up by its labels in the registry costs more than counting.
    private static func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = CounterKey(label: label, dimensions: dimensions.flatMap { [$0.0, $0.1] })
        return counters.withLock { counters in
            if let known = counters[key] { return known }
            let made = Counter(label: label, dimensions: dimensions)
            counters[key] = made
            return made
        }
    }

    private struct CounterKey: Hashable {
        let label: String
        let dimensions: [String]
    }

    private static let counters = Mutex<[CounterKey: Counter]>([:])

    /// `reason`: `size`, `sender`, `recipient`, `quota`, `error`, `aborted`.
    static func messageRefused(listener: String, reason: String, bytes: Int) {
        Counter(label: "mailnode_smtp_messages_total", dimensions: [("listener", listener), ("outcome", "refused"), ("reason", reason)])
            .increment()
        Counter(label: "mailnode_smtp_message_bytes_total", dimensions: [("listener", listener), ("outcome", "refused")])
            .increment(by: Int64(bytes))
    }

    static func authFailure(reason: String) {
        Counter(label: "mailnode_smtp_auth_failures_total", dimensions: [("reason", reason)]).increment()
    }

    static func localDelivery(outcome: String) {
        Counter(label: "mailnode_smtp_local_deliveries_total", dimensions: [("outcome", outcome)]).increment()
    }

    /// Handed-over jobs that waited too long for this node's workers, given back to the region.
    static func handedJobsGivenBack(_ count: Int) {
        Counter(label: "mailnode_outbound_handoff_given_back_total").increment(by: count)
    }

    /// One recipient's delivery attempt by a worker: `delivered`, `deferred`, `failed`.
    static func deliveryAttempt(route: String, outcome: String) {
        counter("mailnode_smtp_delivery_attempts_total", [("route", route), ("outcome", outcome)]).increment()
    }

    /// From submission to delivery.
    static func deliveryLatency(seconds: Int64) {
        deliveryLatencyTimer.recordSeconds(seconds)
    }

    private static let deliveryLatencyTimer = Timer(label: "mailnode_smtp_delivery_latency_seconds")

    static func queue(region: String, depth: Int, oldestAgeSeconds: Int64) {
        Gauge(label: "mailnode_smtp_queue_depth", dimensions: [("region", region)]).record(depth)
        Gauge(label: "mailnode_smtp_queue_oldest_seconds", dimensions: [("region", region)]).record(oldestAgeSeconds)
    }
}
