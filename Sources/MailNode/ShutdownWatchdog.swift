import Foundation
import Logging
import ServiceLifecycle

/// Makes sure a node that was asked to stop does stop: once the graceful shutdown begins, a thread
/// outside Swift's cooperative pool waits for the drain time, the cancellation time and a margin
/// for closing connections, and ends the process if it is still there. A node that logged "node
/// stopped" but hung on, listening on nothing while a region's Redis was down, looked alive to a
/// supervisor that checks its pid, and was never restarted.
struct ShutdownWatchdog: Service {
    static let cancellationDuration: Duration = .seconds(5)
    /// Time for what follows the services: closing Redis and Postgres clients.
    static let teardownMargin: Duration = .seconds(10)

    /// How often a drain still under way says what it waits for.
    static let progressInterval: Double = 5

    let drain: Duration
    let running: RunningServices
    let logger: Logger

    var deadline: Duration { drain + Self.cancellationDuration + Self.teardownMargin }

    func run() async throws {
        // Only the shutdown matters here: wait for it, whatever ends the wait.
        try? await gracefulShutdown()
        let seconds = Double(deadline.components.seconds) + Double(deadline.components.attoseconds) / 1e18
        let logger = self.logger
        logger.info("node draining", metadata: ["deadline_seconds": "\(Int(seconds))"])
        let running = self.running
        Thread.detachNewThread {
            var waited = 0.0
            while waited + Self.progressInterval < seconds {
                Thread.sleep(forTimeInterval: Self.progressInterval)
                waited += Self.progressInterval
                let names = running.names
                if names.isEmpty { continue }
                logger.info("node still draining", metadata: ["seconds": "\(Int(waited))", "still_running": "\(names.joined(separator: ", "))"])
            }
            Thread.sleep(forTimeInterval: seconds - waited)
            logger.error("node still running \(Int(seconds)) s after it was asked to stop; exiting",
                         metadata: ["still_running": "\(running.names.joined(separator: ", "))"])
            exit(1)
        }
    }
}
