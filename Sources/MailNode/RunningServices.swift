import ServiceLifecycle
import Synchronization

/// The node's services that are still running, by name, so that a drain that takes long can say
/// what it waits for (`ShutdownWatchdog` logs them).
final class RunningServices: Sendable {
    private struct State {
        var running: [Int: String] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    /// `service`, counted here while it runs, under its type's name unless given one.
    func tracking(_ service: any Service, as name: String? = nil) -> any Service {
        TrackedService(name: name ?? Self.name(of: service), service: service, registry: self)
    }

    /// The names of the services still running, sorted, each once with how many run.
    var names: [String] {
        let all = state.withLock { Array($0.running.values) }
        var counts: [String: Int] = [:]
        for name in all { counts[name, default: 0] += 1 }
        return counts.keys.sorted().map { counts[$0]! > 1 ? "\($0) x\(counts[$0]!)" : $0 }
    }

    fileprivate func started(_ name: String) -> Int {
        state.withLock { state in
            defer { state.next += 1 }
            state.running[state.next] = name
            return state.next
        }
    }

    fileprivate func ended(_ key: Int) {
        _ = state.withLock { $0.running.removeValue(forKey: key) }
    }

    private static func name(of service: any Service) -> String {
        let full = String(describing: type(of: service))
        return full.firstIndex(of: "<").map { String(full[..<$0]) } ?? full
    }
}

private struct TrackedService: Service {
    let name: String
    let service: any Service
    let registry: RunningServices

    func run() async throws {
        let key = registry.started(name)
        defer { registry.ended(key) }
        try await service.run()
    }
}
