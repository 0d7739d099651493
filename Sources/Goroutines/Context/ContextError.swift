// ContextError: why a Context is done.

/// Why a `Context` is done, as Go's `context.Canceled` and
/// `context.DeadlineExceeded`.
public enum ContextError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The context, or one of its ancestors, was cancelled.
    case canceled
    /// The context's deadline passed.
    case deadlineExceeded

    /// Go's text for the error: `context canceled` or
    /// `context deadline exceeded`.
    public var description: String {
        switch self {
        case .canceled: return "context canceled"
        case .deadlineExceeded: return "context deadline exceeded"
        }
    }
}
