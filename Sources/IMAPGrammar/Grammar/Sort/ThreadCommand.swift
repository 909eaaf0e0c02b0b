/// The arguments of THREAD and UID THREAD (RFC 5256 section 3).
///
/// ```
/// thread     = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
/// thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext
/// ```
/// `C: A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000`
public struct ThreadCommand: Hashable, Sendable {
    public enum Algorithm: String, Hashable, Sendable, CaseIterable {
        case orderedSubject = "ORDEREDSUBJECT"
        case references = "REFERENCES"
    }

    public var algorithm: Algorithm
    public var search: SearchCommand

    public init(algorithm: Algorithm, search: SearchCommand) {
        self.algorithm = algorithm
        self.search = search
    }
}
