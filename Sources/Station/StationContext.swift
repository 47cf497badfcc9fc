import Hummingbird

/// A station request's context: who is signed in, and the form it posted
/// (read once, by the guard, which checks its CSRF token).
public struct StationContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var session: SessionStore.Session?
    public var form = Form("")
    /// The open visit as the header shows it (set by the guard once signed in).
    var visit: VisitHeader?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// Forms are small; anything larger is refused before it is read.
    public var maxUploadSize: Int { 64 * 1024 }
}
