import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The command `report` wraps, started as a shell would start it: found on `PATH`, with every
/// signal unblocked and at its default action.
///
/// Not Foundation's `Process`: a child inherits the signal mask of the thread that spawns it, and
/// the threads async code runs on block most signals. A job started that way ignored SIGTERM and
/// Ctrl-C, ran to its end, and was reported a success.
struct ChildCommand {
    /// The command could not be started; `code` is the `errno` (`ENOENT`: not found).
    struct StartError: Error {
        var code: Int32
    }

    let pid: pid_t

    /// Starts `arguments[0]` with `arguments`, in this process's environment; the signals in
    /// `keepIgnored` stay ignored in it, every other one takes its default action.
    init(_ arguments: [String], keepIgnored: Set<Int32> = []) throws(StartError) {
        var attributes = Self.makeAttributes()
        defer { posix_spawnattr_destroy(&attributes) }
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        var everySignal = sigset_t()
        sigfillset(&everySignal)
        for signalNumber in keepIgnored { sigdelset(&everySignal, signalNumber) }
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        // Signals this process ignores (the ones `report` forwards) are ignored in a child too,
        // unless reset here.
        posix_spawnattr_setsigdefault(&attributes, &everySignal)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, arguments[0], nil, &attributes, argv, environ)
        guard result == 0 else { throw StartError(code: result) }
        self.pid = pid
    }

    #if canImport(Darwin)
    private static func makeAttributes() -> posix_spawnattr_t? {
        var attributes: posix_spawnattr_t?
        posix_spawnattr_init(&attributes)
        return attributes
    }
    #else
    private static func makeAttributes() -> posix_spawnattr_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        return attributes
    }
    #endif

    /// Waits for the child to end (blocking this thread): its exit code, or 128 + the number of
    /// the signal that ended it, as a shell reports it.
    func waitForExit() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { return 127 }
        }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}

/// Passes the signals that ask a job to stop (SIGTERM from a scheduler or `kill`, SIGHUP from a
/// closed terminal) on to the child, so `report` itself stays to record how the job ended.
///
/// SIGINT is only ignored here: Ctrl-C already reaches the child through the terminal's process
/// group, and a second one would interrupt its clean-up. A signal `report` was started with
/// ignored (`nohup` ignores SIGHUP, a shell's `&` SIGINT) stays ignored, for the child too, as a
/// shell would leave it.
final class SignalForwarding {
    static let forwarded: [Int32] = [SIGTERM, SIGHUP]

    /// The signals this process was started with ignored, among those it handles.
    let inheritedIgnored: Set<Int32>

    /// The child, once started, and the signals that came before it was.
    private final class Target: Sendable {
        let state = Mutex<(child: pid_t?, pending: [Int32])>((nil, []))
    }

    private let sources: [any DispatchSourceSignal]
    private let target = Target()

    /// Starts catching the signals; those that come before ``forward(to:)`` names the child are
    /// passed on then.
    init() {
        var ignored: Set<Int32> = []
        for signalNumber in Self.forwarded + [SIGINT] {
            let previous = signal(signalNumber, SIG_IGN)
            if Self.isIgnore(previous) { ignored.insert(signalNumber) }
        }
        inheritedIgnored = ignored
        let target = target
        sources = Self.forwarded.filter { !ignored.contains($0) }.map { signalNumber in
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                let child = target.state.withLock { state -> pid_t? in
                    if state.child == nil { state.pending.append(signalNumber) }
                    return state.child
                }
                if let child { kill(child, signalNumber) }
            }
            source.resume()
            return source
        }
    }

    func forward(to child: pid_t) {
        let pending = target.state.withLock { state in
            state.child = child
            defer { state.pending = [] }
            return state.pending
        }
        for signalNumber in pending { kill(child, signalNumber) }
    }

    /// Stops forwarding and restores the actions the process started with.
    func stop() {
        for source in sources { source.cancel() }
        for signalNumber in Self.forwarded + [SIGINT] where !inheritedIgnored.contains(signalNumber) { signal(signalNumber, SIG_DFL) }
    }

    private static func isIgnore(_ handler: sighandler_t?) -> Bool {
        guard let handler else { return false }
        return unsafeBitCast(handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
    }
}
