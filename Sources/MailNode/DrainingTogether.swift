import ServiceLifecycle

/// Listeners that drain side by side. A service group shuts its services down one after the
/// other, in reverse order: a listener whose sessions took the whole drain time (a client in the
/// middle of a long upload) kept every listener after it open, its idle connections included, and
/// the cancellation that followed could not end those in time either. Here every listener hears
/// of the drain at once: each runs in a child task, which inherits this service's graceful
/// shutdown.
///
/// One that returns before the drain ends this service, and with it the node, as the node's group
/// does for any service that returns; one that throws ends it with its error.
struct DrainingTogether: Service {
    let services: [any Service]

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask { try await service.run() }
            }
            while try await group.next() != nil {
                if !Task.isShuttingDownGracefully {
                    group.cancelAll()
                    return
                }
            }
        }
    }
}
