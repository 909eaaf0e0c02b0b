import Hummingbird
import Logging
import NIOCore
import Prometheus

/// The operator's endpoint on its own port: `/healthz` (the process answers), `/readyz` (its
/// required dependencies answer; 200 naming the optional ones that do not) and `/metrics`
/// (Prometheus text).
public enum AdminServer {
    /// A named dependency whose reachability decides readiness.
    public struct Check: Sendable {
        public let name: String
        /// Whether the node is unready without it; an optional dependency that fails makes the
        /// node ready but degraded.
        public let required: Bool
        public let probe: @Sendable () async throws -> Void

        public init(name: String, required: Bool = true, probe: @escaping @Sendable () async throws -> Void) {
            self.name = name
            self.required = required
            self.probe = probe
        }
    }

    public static func router(registry: PrometheusCollectorRegistry, checks: [Check]) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            let failed = await withTaskGroup(of: Check?.self) { group in
                for check in checks {
                    group.addTask {
                        do {
                            try await check.probe()
                            return nil
                        } catch {
                            return check
                        }
                    }
                }
                var failed: [Check] = []
                for await check in group { if let check { failed.append(check) } }
                return failed.sorted { $0.name < $1.name }
            }
            let unreachable = failed.filter(\.required).map(\.name)
            if unreachable.isEmpty {
                let degraded = failed.map(\.name)
                let text = degraded.isEmpty ? "ready\n" : "ready (degraded: \(degraded.joined(separator: ", ")) unreachable)\n"
                return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: text)))
            }
            let text = "unavailable: \(unreachable.joined(separator: ", ")) unreachable\n"
            return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("metrics") { _, _ -> Response in
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        return router
    }

    public static func application(host: String, port: Int, registry: PrometheusCollectorRegistry, checks: [Check], logger: Logger)
        -> some ApplicationProtocol
    {
        Application(
            router: router(registry: registry, checks: checks),
            configuration: .init(address: .hostname(host, port: port), serverName: "mailnode-admin"),
            logger: logger.with(listener: "admin"))
    }
}
