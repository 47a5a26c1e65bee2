import Dispatch

/// A repeating Dispatch timer that runs `handler` on its own serial queue until `cancel`. Sendable because the
/// source is only set up in `init` and then only cancelled (Dispatch sources are thread-safe but not marked so).
final class RepeatingTimer: @unchecked Sendable {
    private let source: any DispatchSourceTimer

    init(label: String, first: DispatchTime = .now(), every interval: DispatchTimeInterval, leeway: DispatchTimeInterval = .milliseconds(10),
         handler: @escaping @Sendable () -> Void) {
        source = DispatchSource.makeTimerSource(queue: DispatchQueue(label: label))
        source.schedule(deadline: first, repeating: interval, leeway: leeway)
        source.setEventHandler(handler: handler)
        source.resume()
    }

    func cancel() { source.cancel() }

    deinit { source.cancel() }
}
