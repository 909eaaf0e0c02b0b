import Metrics

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
        Counter(label: "mailnode_smtp_commands_total", dimensions: [("command", verb), ("outcome", outcome)]).increment()
    }

    static func messageAccepted(listener: String, bytes: Int) {
        Counter(label: "mailnode_smtp_messages_total", dimensions: [("listener", listener), ("outcome", "accepted")]).increment()
        Counter(label: "mailnode_smtp_message_bytes_total", dimensions: [("listener", listener), ("outcome", "accepted")])
            .increment(by: Int64(bytes))
    }

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

    /// One recipient's delivery attempt by a worker: `delivered`, `deferred`, `failed`.
    static func deliveryAttempt(route: String, outcome: String) {
        Counter(label: "mailnode_smtp_delivery_attempts_total", dimensions: [("route", route), ("outcome", outcome)]).increment()
    }

    /// From submission to delivery.
    static func deliveryLatency(seconds: Int64) {
        Timer(label: "mailnode_smtp_delivery_latency_seconds").recordSeconds(seconds)
    }

    static func queue(region: String, depth: Int, oldestAgeSeconds: Int64) {
        Gauge(label: "mailnode_smtp_queue_depth", dimensions: [("region", region)]).record(depth)
        Gauge(label: "mailnode_smtp_queue_oldest_seconds", dimensions: [("region", region)]).record(oldestAgeSeconds)
    }
}
