import Logging
import ServiceLifecycle
import Synchronization

/// Listeners that drain side by side. A service group shuts its services down one after the
/// other, in reverse order: a listener whose sessions took the whole drain time (a client in the
/// middle of a long upload) kept every listener after it open, its idle connections included, and
/// the cancellation that followed could not end those in time either. Here every listener hears
/// of the drain at once.
///
/// Each runs in a service group of its own, so that it finds the graceful shutdown where it
/// looks for it. One that ends before the drain ends this service, and with it the node, as the
/// node's group does for any service that returns.
struct DrainingTogether: Service {
    let services: [any Service]
    let logger: Logger

    func run() async throws {
        let groups = services.map { service in
            ServiceGroup(configuration: ServiceGroupConfiguration(services: [.init(service: service)], logger: logger))
        }
        let draining = DrainBegun()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for group in groups {
                tasks.addTask { try await group.run() }
            }
            try await withGracefulShutdownHandler {
                while try await tasks.next() != nil {
                    if !draining.value {
                        tasks.cancelAll()
                        return
                    }
                }
            } onGracefulShutdown: {
                draining.set()
                Task {
                    for group in groups { await group.triggerGracefulShutdown() }
                }
            }
        }
    }
}

private final class DrainBegun: Sendable {
    private let begun = Atomic<Bool>(false)
    var value: Bool { begun.load(ordering: .acquiring) }
    func set() { begun.store(true, ordering: .releasing) }
}
