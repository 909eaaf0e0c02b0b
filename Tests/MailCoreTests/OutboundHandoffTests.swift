import Testing
@testable import MailCore

/// The handoff's bookkeeping without Postgres: the queue side is covered by
/// `PostgresOutboundQueueTests.aSubmissionHandsItsJobsToItsOwnNode`.
@Suite struct OutboundHandoffTests {
    static func job(_ id: Int64) -> OutboundJob {
        OutboundJob(id: id, grantID: .random(), sentMessageID: "m\(id)", mailFrom: "a@example.test", domain: "example.org",
                    recipients: ["b@example.org"], attempts: 0, createdAt: 0, raw: Array(repeating: 0x41, count: 10))
    }

    /// Submits one message of one job at `now`, handed over.
    static func submit(_ handoff: OutboundHandoff, job id: Int64, at now: Int64) throws -> OutboundHandoff.Reservation {
        let reservation = try #require(handoff.reserve(bytes: 10, now: now))
        handoff.start([job(id)], reservation)
        return reservation
    }

    /// Jobs submitted before the cutoff and not yet taken come out, oldest first, their places
    /// freed; a younger one stays for this node's workers, and one a worker already took is left
    /// to that worker.
    @Test func jobsWaitingTooLongAreTakenOutForTheRegion() async throws {
        let handoff = OutboundHandoff(maximumSubmissions: 3, maximumBytes: 1 << 20)
        handoff.open(leaseMilliseconds: 30_000)
        _ = try Self.submit(handoff, job: 1, at: 1_000)
        let taken = try #require(await handoff.next(margin: 0, now: { 1_000 }))
        #expect(taken.job.id == 1)
        let second = try Self.submit(handoff, job: 2, at: 2_000)
        let third = try Self.submit(handoff, job: 3, at: 3_000)
        #expect(handoff.reserve(bytes: 10, now: 4_000) == nil, "a fourth finds the handoff full")
        #expect(handoff.handedOver == 3)

        let late = handoff.takeWaiting(submittedBefore: 3_500)
        #expect(late == [OutboundHandoff.Lease(job: 2, token: second.token), OutboundHandoff.Lease(job: 3, token: third.token)])
        #expect(handoff.handedOver == 1, "only the job a worker holds keeps its place")
        #expect(handoff.waitingLeases.isEmpty)
        #expect(handoff.takeWaiting(submittedBefore: 10_000).isEmpty)
        _ = try Self.submit(handoff, job: 5, at: 5_000)
        #expect(handoff.takeWaiting(submittedBefore: 5_000).isEmpty, "a job submitted at the cutoff has not waited too long")
        #expect(try #require(await handoff.next(margin: 0, now: { 5_000 })).job.id == 5)
        handoff.finished(taken)
    }

    /// A submission of two jobs, one taken by a worker: the other comes out, its lease is no
    /// longer renewed nor delivered here, and the submission keeps its place until the worker ends.
    @Test func aSubmissionKeepsItsPlaceWhileAWorkerHoldsOneOfItsJobs() async throws {
        let handoff = OutboundHandoff(maximumSubmissions: 4, maximumBytes: 1 << 20)
        handoff.open(leaseMilliseconds: 30_000)
        let reservation = try #require(handoff.reserve(bytes: 10, now: 1_000))
        handoff.start([Self.job(1), Self.job(2)], reservation)
        let taken = try #require(await handoff.next(margin: 0, now: { 1_000 }))
        #expect(handoff.takeWaiting(submittedBefore: 2_000) == [OutboundHandoff.Lease(job: 2, token: reservation.token)])
        handoff.leasesRenewed([2], until: 99_000)
        #expect(handoff.waitingLeases.isEmpty)
        #expect(handoff.handedOver == 1, "the worker still holds the first job")
        handoff.finished(taken)
        #expect(handoff.handedOver == 0)
        _ = handoff.close()
        #expect(await handoff.next(margin: 0) == nil, "nothing is left to deliver here")
    }
}
