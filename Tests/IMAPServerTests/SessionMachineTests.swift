@testable import IMAPServer
import IMAPGrammar
import MailCore
import NIOCore
import Testing

/// Drives a `SessionMachine` the way the session does, with no socket, store or clock: client
/// lines go through the real parser in the mode the machine asked for, the time is the test's,
/// and every action comes back as one line of text (`S:` for what is written, `effect ...` for
/// work with I/O, `next <mode>`, `count ...`, `end`), so that each test reads as a transcript.
private struct MachineDriver {
    static let grant = Grant(id: .random(), email: EmailAddress("machine@example.test")!, region: Region(rawValue: "us")!,
                             appPasswordHash: nil, createdAt: 0, updatedAt: 0)
    static let timers = IMAPServerContext.Timers()

    var machine: SessionMachine
    var parser = CommandParser()
    var now = ContinuousClock.now
    var facts = SessionMachine.TickFacts(busHealthy: true, hasSelection: true)

    init(tls: Bool = true) {
        let configuration = SessionMachine.Configuration(hostname: "mail.test", timers: Self.timers, appendLimit: 1000)
        machine = SessionMachine(configuration: configuration, isTLS: tls, now: now)
    }

    static func lines(_ responses: [Response]) -> String {
        let encoder = ResponseEncoder()
        return responses.map { response in
            var buffer = encoder.encode(response)
            return "S: " + buffer.readString(length: buffer.readableBytes)!.replacingOccurrences(of: "\r\n", with: "")
        }.joined(separator: " | ")
    }

    static func describe(_ effect: SessionMachine.Effect) -> String {
        switch effect {
        case .login(let tag, let account, let password): "login \(tag) \(account) \(password)"
        case .startTLS(let ok): "startTLS after \(lines([ok]))"
        case .startCompression(let ok): "startCompression after \(lines([ok]))"
        case .command(let tagged): "command \(tagged.tag) \(tagged.command.name)"
        case .append(.appendStart(let tag, _)): "append start \(tag)"
        case .append(.appendFinish): "append finish"
        case .append(let step): "append \(step)"
        case .synchronize(let force): force ? "synchronize forced" : "synchronize if announced"
        case .renewSlot: "renew slot"
        case .checkCredentials: "check credentials"
        case .unauthenticate: "unauthenticate"
        }
    }

    mutating func receive(_ input: SessionMachine.Input) -> [String] {
        render(machine.receive(input, at: now))
    }

    /// Parses one client line (CRLF added) in the mode the machine last asked for.
    mutating func client(_ line: String) -> [String] {
        var buffer = ByteBuffer(string: line + "\r\n")
        return receive(.parsed(parser.parse(&buffer)))
    }

    mutating func finish(_ outcome: SessionMachine.Outcome) -> [String] { receive(.finished(outcome)) }

    mutating func tick(after delay: Duration) -> [String] {
        now += delay
        return receive(.tick(facts))
    }

    /// Ticks, answering a slot renewal as done and a credentials check as unchanged: what is
    /// left is what the client sees.
    mutating func tickSeenByClient(after delay: Duration) -> [String] {
        var seen: [String] = []
        var actions = tick(after: delay)
        while let last = actions.last, last == "effect renew slot" || last == "effect check credentials" {
            seen += actions.dropLast()
            actions = finish(last == "effect renew slot" ? .done : .credentials(.unchanged))
        }
        return seen + actions
    }

    /// Logs in over TLS and returns nothing: the login itself is tested on its own.
    mutating func loggedIn() {
        _ = receive(.started)
        _ = client("L LOGIN machine secret")
        _ = finish(.loggedIn(Self.grant))
    }

    private mutating func render(_ actions: [SessionMachine.Action]) -> [String] {
        actions.map { action in
            switch action {
            case .requestNext(let mode):
                parser.mode = mode
                return "next \(mode)"
            case .write(let responses):
                return Self.lines(responses)
            case .effect(let effect):
                return "effect " + Self.describe(effect)
            case .noteMailboxChange(let folder, let modseq):
                return "note \(folder ?? "*") \(modseq.map(String.init) ?? "-")"
            case .abandonAppend(let tag):
                return "abandon append \(tag ?? "-")"
            case .count(let metric):
                return "count \(metric)"
            case .end:
                return "end"
            }
        }
    }
}

@Suite struct SessionMachineTests {
    private static let capabilitiesBeforeTLS = (IMAPCapabilities.list(isTLS: false, authenticated: false, appendLimit: 1000)).joined(separator: " ")
    private static let capabilitiesAfterLogin = (IMAPCapabilities.list(isTLS: true, authenticated: true, appendLimit: 1000)).joined(separator: " ")

    @Test func greetsAfterAskingForInputAndRefusesLoginBeforeTLS() {
        var driver = MachineDriver(tls: false)
        #expect(driver.receive(.started) == [
            "next command", "S: * OK [CAPABILITY \(Self.capabilitiesBeforeTLS)] mail.test IMAP service ready",
        ])
        #expect(driver.client("a LOGIN machine secret") == [
            "next command", "S: a NO [PRIVACYREQUIRED] LOGIN is disabled before STARTTLS", "count command(name: \"LOGIN\", outcome: \"no\")",
        ])
        #expect(driver.client("b SELECT INBOX") == [
            "next command", "S: b BAD SELECT requires authentication", "count command(name: \"SELECT\", outcome: \"bad\")",
        ])
        // NOOP needs no login.
        #expect(driver.client("c NOOP") == [
            "next command", "S: c OK NOOP completed", "count command(name: \"NOOP\", outcome: \"ok\")",
        ])
    }

    @Test("COMPRESS DEFLATE (RFC 4978): once, after login, for DEFLATE only")
    func compressIsAnEffectOnceAfterLogin() {
        var driver = MachineDriver()
        _ = driver.receive(.started)
        #expect(driver.client("c COMPRESS DEFLATE") == ["next command", "S: c BAD COMPRESS requires authentication",
                                                         "count command(name: \"COMPRESS\", outcome: \"bad\")"])
        driver.loggedIn()
        #expect(driver.client("d COMPRESS LZMA") == ["next command", "S: d BAD Unknown compression mechanism LZMA",
                                                      "count command(name: \"COMPRESS\", outcome: \"bad\")"])
        #expect(driver.client("e COMPRESS deflate") == ["effect startCompression after S: e OK DEFLATE active"])
        #expect(driver.finish(.compressionStarted) == ["next command", "count command(name: \"COMPRESS\", outcome: \"none\")"])
        #expect(driver.client("f COMPRESS DEFLATE") == ["next command", "S: f BAD Compression is already active",
                                                         "count command(name: \"COMPRESS\", outcome: \"bad\")"])
    }

    @Test func startTLSIsAnEffectAndChangesWhatIsOffered() {
        var driver = MachineDriver(tls: false)
        _ = driver.receive(.started)
        #expect(driver.client("t STARTTLS") == ["effect startTLS after S: t OK Begin TLS negotiation now"])
        #expect(driver.finish(.tlsStarted) == ["next command", "count command(name: \"STARTTLS\", outcome: \"none\")"])
        #expect(driver.machine.capabilities.contains("AUTH=PLAIN"))
        #expect(!driver.machine.capabilities.contains("STARTTLS"))
        #expect(driver.client("u STARTTLS") == [
            "next command", "S: u BAD TLS is already active", "count command(name: \"STARTTLS\", outcome: \"bad\")",
        ])
    }

    @Test func aHandshakeThatFailsEndsTheConnection() {
        var driver = MachineDriver(tls: false)
        _ = driver.receive(.started)
        _ = driver.client("t STARTTLS")
        #expect(driver.finish(.failed) == ["end"])
    }

    @Test func loginIsAnEffectWhoseOutcomeDecidesTheState() {
        var driver = MachineDriver()
        _ = driver.receive(.started)
        #expect(driver.client("a LOGIN machine wrong") == ["effect login a machine wrong"])
        let refusal = Response.tagged(TaggedResponse(tag: "a", state: .no, code: .authenticationFailed, "Authentication failed"))
        #expect(driver.finish(.loginRefused(refusal)) == [
            "next command", "S: a NO [AUTHENTICATIONFAILED] Authentication failed", "count command(name: \"LOGIN\", outcome: \"no\")",
        ])
        #expect(driver.machine.grant == nil)
        _ = driver.client("b LOGIN machine secret")
        #expect(driver.finish(.loggedIn(MachineDriver.grant)) == [
            "next command", "S: b OK [CAPABILITY \(Self.capabilitiesAfterLogin)] Logged in", "count command(name: \"LOGIN\", outcome: \"ok\")",
        ])
        #expect(driver.machine.grant == MachineDriver.grant)
        #expect(driver.client("c LOGIN machine secret") == [
            "next command", "S: c BAD Already authenticated", "count command(name: \"LOGIN\", outcome: \"bad\")",
        ])
    }

    @Test func aRelayedLoginHandsTheConnectionOver() {
        var driver = MachineDriver()
        _ = driver.receive(.started)
        _ = driver.client("a LOGIN elsewhere secret")
        #expect(driver.finish(.handedOff) == ["end"])
    }

    @Test(arguments: [
        // RFC 4616: authzid NUL authcid NUL passwd, base64.
        ("AG1hY2hpbmUAc2VjcmV0", ["effect login a machine secret"]),
        ("bWFjaGluZQBtYWNoaW5lAHNlY3JldA==", ["effect login a machine secret"]),
        ("b3RoZXIAbWFjaGluZQBzZWNyZXQ=", ["next command", "S: a NO [AUTHORIZATIONFAILED] Cannot act as another user",
                                          "count command(name: \"AUTHENTICATE\", outcome: \"no\")"]),
        ("bWFjaGluZQBzZWNyZXQ=", ["next command", "S: a BAD Malformed PLAIN response", "count command(name: \"AUTHENTICATE\", outcome: \"bad\")"]),
        ("*", ["next command", "S: a BAD AUTHENTICATE cancelled", "count command(name: \"AUTHENTICATE\", outcome: \"bad\")"]),
    ])
    func authenticatePlainAsksForItsResponseThenJudgesIt(_ line: String, _ expected: [String]) {
        var driver = MachineDriver()
        _ = driver.receive(.started)
        #expect(driver.client("a AUTHENTICATE PLAIN") == ["next authenticate", "S: + "])
        #expect(driver.client(line) == expected)
    }

    @Test func authenticateWithAnInitialResponseNeedsNoContinuation() {
        var driver = MachineDriver()
        _ = driver.receive(.started)
        #expect(driver.client("a AUTHENTICATE PLAIN AG1hY2hpbmUAc2VjcmV0") == [
            "effect login a machine secret",
        ])
    }

    @Test func authenticatedCommandsAreEffectsAnsweredAsTheSessionSays() {
        var driver = MachineDriver()
        driver.loggedIn()
        #expect(driver.client("s SELECT INBOX") == ["effect command s SELECT"])
        let answer: [Response] = [.untagged(.exists(3)), .tagged(TaggedResponse(tag: "s", state: .ok, code: .readWrite, "SELECT completed"))]
        #expect(driver.finish(.answered(answer, commandName: "SELECT")) == [
            "next command", "S: * 3 EXISTS | S: s OK [READ-WRITE] SELECT completed", "count command(name: \"SELECT\", outcome: \"ok\")",
        ])
        // An outcome that answers something else than what was asked for is the session's fault.
        _ = driver.client("f FETCH 1 FLAGS")
        #expect(driver.finish(.tlsStarted) == ["end"])
    }

    @Test func idleReadsTheMailboxThenWaitsForDone() {
        var driver = MachineDriver()
        driver.loggedIn()
        #expect(driver.client("i IDLE") == ["count idleStarted", "effect synchronize forced"])
        #expect(driver.finish(.synchronized([.untagged(.exists(4))])) == [
            "next idle", "S: + idling | S: * 4 EXISTS", "count command(name: \"IDLE\", outcome: \"bye\")",
        ])
        // Announced changes are read and pushed at once.
        #expect(driver.receive(.mailboxChanged(folderID: "inbox", modseq: 9)) == ["note inbox 9", "effect synchronize if announced"])
        #expect(driver.finish(.synchronized([.untagged(.exists(5))])) == ["count pushes(1)", "S: * 5 EXISTS"])
        _ = driver.receive(.mailboxChanged(folderID: nil, modseq: nil))
        #expect(driver.finish(.synchronized([])) == [])
        #expect(driver.client("DONE") == ["count idleEnded", "next command", "S: i OK IDLE terminated"])
        // Outside IDLE an announcement only marks the mailbox; the next command reports it.
        #expect(driver.receive(.mailboxChanged(folderID: "inbox", modseq: 10)) == ["note inbox 10"])
    }

    @Test func aChangeLogThatCannotBeReadDuringIdleEndsTheConnection() {
        var driver = MachineDriver()
        driver.loggedIn()
        _ = driver.client("i IDLE")
        _ = driver.finish(.synchronized(nil))
        _ = driver.receive(.mailboxChanged(folderID: "inbox", modseq: 9))
        #expect(driver.finish(.synchronized(nil)) == ["end"])
    }

    @Test func idleKeepsAliveAndEndsAfterItsLimitDroppingALateDone() {
        var driver = MachineDriver()
        driver.facts.hasSelection = false
        driver.loggedIn()
        _ = driver.client("i IDLE")
        _ = driver.finish(.synchronized([]))
        #expect(driver.tickSeenByClient(after: MachineDriver.timers.keepalive - .seconds(1)) == [])
        #expect(driver.tickSeenByClient(after: .seconds(1)) == ["S: * OK Still here"])
        #expect(driver.tickSeenByClient(after: .seconds(1)) == [])
        var elapsed = MachineDriver.timers.keepalive + .seconds(1)
        while elapsed < MachineDriver.timers.maximumIDLE - .seconds(5) {
            _ = driver.tickSeenByClient(after: .seconds(5))
            elapsed += .seconds(5)
        }
        let ending = driver.tickSeenByClient(after: MachineDriver.timers.maximumIDLE - elapsed)
        #expect(ending == ["count idleEnded", "next command", "S: i OK IDLE terminated after 30 minutes; re-issue IDLE"])
        // The client's DONE crossed the response: dropped without an answer.
        #expect(driver.client("DONE") == ["next command"])
        #expect(driver.machine.expecting == .command)
        // Only once: a second one is an error like any other.
        #expect(driver.client("DONE").contains("abandon append DONE"))
    }

    @Test func outsideIdleTheConnectionEndsAfterItsIdleLimitCountedFromTheLastInput() {
        var driver = MachineDriver(tls: false)
        _ = driver.receive(.started)
        #expect(driver.tick(after: MachineDriver.timers.idleOutsideIDLE - .seconds(1)) == [])
        _ = driver.client("n NOOP")
        #expect(driver.tick(after: MachineDriver.timers.idleOutsideIDLE - .seconds(1)) == [])
        #expect(driver.tick(after: .seconds(1)) == ["S: * BYE Autologout; idle for too long", "end"])
    }

    /// The listener's ticker wakes an idle session only from `nextTimer` on: every tick before it
    /// must find nothing to do, and the tick at it finds what was due (in IDLE: the slot, the
    /// credentials, the keepalives, until the 30 minutes end it).
    @Test func aSessionsNextTimerIsTheFirstTickThatFindsWork() {
        var driver = MachineDriver()
        driver.facts.hasSelection = false
        driver.loggedIn()
        _ = driver.client("i IDLE")
        _ = driver.finish(.synchronized([]))
        let idleSince = driver.now
        var timers = 0
        while driver.machine.isIdling, timers < 10_000 {
            let next = driver.machine.nextTimer(facts: driver.facts)
            #expect(next > driver.now)
            #expect(driver.tick(after: next - driver.now - .milliseconds(1)) == [])
            var actions = driver.tick(after: .milliseconds(1))
            #expect(!actions.isEmpty)
            while let last = actions.last, last == "effect renew slot" || last == "effect check credentials" {
                actions = driver.finish(last == "effect renew slot" ? .done : .credentials(.unchanged))
            }
            timers += 1
        }
        #expect(!driver.machine.isIdling)
        #expect(driver.now - idleSince == MachineDriver.timers.maximumIDLE)
        #expect(Double(timers) > MachineDriver.timers.maximumIDLE / MachineDriver.timers.keepalive)
    }

    @Test func beforeLoginTheNextTimerIsTheAutologout() {
        var driver = MachineDriver(tls: false)
        _ = driver.receive(.started)
        _ = driver.client("n NOOP")
        #expect(driver.machine.nextTimer(facts: driver.facts) == driver.now + MachineDriver.timers.idleOutsideIDLE)
    }

    @Test func aTickRunsItsDueStepsInOrderOneEffectAtATime() {
        var driver = MachineDriver()
        driver.facts = SessionMachine.TickFacts(busHealthy: false, hasSelection: true)
        driver.loggedIn()
        _ = driver.client("i IDLE")
        _ = driver.finish(.synchronized([]))
        // Everything is due at once: the slot, the credentials, the poll (the bus is unhealthy)
        // and the keepalive.
        #expect(driver.tick(after: MachineDriver.timers.keepalive) == ["effect renew slot"])
        #expect(driver.finish(.done) == ["effect check credentials"])
        #expect(driver.finish(.credentials(.unknown)) == ["effect synchronize forced"])
        #expect(driver.finish(.synchronized([.untagged(.exists(2))])) == ["count pushes(1)", "S: * 2 EXISTS", "S: * OK Still here"])
        // While the bus is unhealthy, IDLE polls on every tick.
        #expect(driver.tick(after: MachineDriver.timers.tick) == ["effect synchronize forced"])
        #expect(driver.finish(.synchronized([])) == [])
        // While it is healthy, once a minute.
        driver.facts.busHealthy = true
        #expect(driver.tick(after: MachineDriver.timers.tick) == [])
    }

    @Test func changedCredentialsEndIdleAtOnceAndOtherwiseTheNextCommand() {
        var idling = MachineDriver()
        idling.loggedIn()
        _ = idling.client("i IDLE")
        _ = idling.finish(.synchronized([]))
        #expect(idling.receive(.credentialsChanged) == ["S: * BYE [AUTHENTICATIONFAILED] Credentials changed; log in again", "end"])

        var ticking = MachineDriver()
        ticking.loggedIn()
        _ = ticking.client("i IDLE")
        _ = ticking.finish(.synchronized([]))
        #expect(ticking.tick(after: SessionMachine.credentialsCheckInterval) == ["effect renew slot"])
        #expect(ticking.finish(.done) == ["effect check credentials"])
        #expect(ticking.finish(.credentials(.changed)) == ["S: * BYE [AUTHENTICATIONFAILED] Credentials changed; log in again", "end"])

        var working = MachineDriver()
        working.loggedIn()
        #expect(working.receive(.credentialsChanged) == [])
        #expect(working.client("f FETCH 1 FLAGS") == [
            "S: f NO [AUTHENTICATIONFAILED] Credentials changed; log in again | S: * BYE Credentials changed",
            "count command(name: \"FETCH\", outcome: \"bye\")", "end",
        ])

        var leaving = MachineDriver()
        leaving.loggedIn()
        _ = leaving.receive(.credentialsChanged)
        #expect(leaving.client("z LOGOUT") == [
            "S: * BYE mail.test logging out | S: z OK LOGOUT completed", "count command(name: \"LOGOUT\", outcome: \"ok\")", "end",
        ])
    }

    /// RFC 8437: back to the not-authenticated state, with nothing of the login left.
    @Test func unauthenticateReturnsToTheStateOfANewConnection() {
        var driver = MachineDriver()
        #expect(driver.receive(.started).count == 2)
        #expect(driver.client("u UNAUTHENTICATE") == [
            "next command", "S: u BAD UNAUTHENTICATE requires authentication", "count command(name: \"UNAUTHENTICATE\", outcome: \"bad\")",
        ])
        _ = driver.client("L LOGIN machine secret")
        _ = driver.finish(.loggedIn(MachineDriver.grant))
        _ = driver.receive(.credentialsChanged)
        #expect(driver.client("v UNAUTHENTICATE") == [
            "S: v NO [AUTHENTICATIONFAILED] Credentials changed; log in again | S: * BYE Credentials changed",
            "count command(name: \"UNAUTHENTICATE\", outcome: \"bye\")", "end",
        ])
        var fresh = MachineDriver()
        fresh.loggedIn()
        #expect(fresh.client("w UNAUTHENTICATE") == ["effect unauthenticate"])
        #expect(fresh.finish(.done) == [
            "next command", "S: w OK UNAUTHENTICATE completed", "count command(name: \"UNAUTHENTICATE\", outcome: \"ok\")",
        ])
        #expect(fresh.machine.grant == nil)
        #expect(fresh.client("x SELECT INBOX") == [
            "next command", "S: x BAD SELECT requires authentication", "count command(name: \"SELECT\", outcome: \"bad\")",
        ])
        // No timers of the login go on: no slot renewal, no credentials check.
        #expect(fresh.tick(after: SessionMachine.credentialsCheckInterval) == [])
        #expect(fresh.client("y LOGIN machine secret") == ["effect login y machine secret"])
    }

    @Test func drainingSaysByeWithUnavailable() {
        var driver = MachineDriver()
        driver.loggedIn()
        #expect(driver.receive(.shutdown) == ["S: * BYE [UNAVAILABLE] This node is shutting down; reconnect", "end"])
    }

    @Test func aClosedConnectionEnds() {
        var driver = MachineDriver()
        #expect(driver.receive(.closed) == ["end"])
    }

    @Test func appendStepsAreEffectsAndOnlyTheLastIsCounted() {
        var driver = MachineDriver()
        driver.loggedIn()
        #expect(driver.client("a APPEND INBOX {3+}") == ["effect append start a"])
        #expect(driver.finish(.answered([], commandName: nil)) == ["next command"])
        let done = Response.tagged(TaggedResponse(tag: "a", state: .ok, "APPEND completed"))
        #expect(driver.receive(.parsed(.appendFinish)) == ["effect append finish"])
        #expect(driver.finish(.answered([done], commandName: "APPEND")) == [
            "next command", "S: a OK APPEND completed", "count command(name: \"APPEND\", outcome: \"ok\")",
        ])
    }

    @Test func aRejectedCommandDropsAnAppendOfTheSameTagAndMayEndTheConnection() {
        var driver = MachineDriver()
        driver.loggedIn()
        let rejected = CommandParseError(tag: "a", kind: .badSyntax, message: "Bad literal")
        #expect(driver.receive(.parsed(.error(rejected))) == [
            "abandon append a", "next command", "S: a BAD Bad literal", "count command(name: \"INVALID\", outcome: \"bad\")",
        ])
        let fatal = CommandParseError(tag: "b", kind: .lineTooLong, message: "Command line too long", closeConnection: true)
        #expect(driver.receive(.parsed(.error(fatal))) == [
            "abandon append b", "S: b BAD [TOOBIG] Command line too long | S: * BYE Closing connection",
            "count command(name: \"INVALID\", outcome: \"bye\")", "end",
        ])
    }
}
