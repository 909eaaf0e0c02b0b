import Hummingbird
import Logging
import NIOCore
import Prometheus

/// The operator's endpoint on its own port: `/healthz` (the process answers), `/readyz` (its
/// Postgres and Redis answer) and `/metrics` (Prometheus text).
public enum AdminServer {
    /// A named dependency whose reachability decides readiness.
    public struct Check: Sendable {
        public let name: String
        public let probe: @Sendable () async throws -> Void

        public init(name: String, probe: @escaping @Sendable () async throws -> Void) {
            self.name = name
            self.probe = probe
        }
    }

    public static func router(registry: PrometheusCollectorRegistry, checks: [Check]) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            let unreachable = await withTaskGroup(of: String?.self) { group in
                for check in checks {
                    group.addTask {
                        do {
                            try await check.probe()
                            return nil
                        } catch {
                            return check.name
                        }
                    }
                }
                var names: [String] = []
                for await name in group { if let name { names.append(name) } }
                return names.sorted()
            }
            if unreachable.isEmpty {
                return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
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
            logger: logger)
    }
}
