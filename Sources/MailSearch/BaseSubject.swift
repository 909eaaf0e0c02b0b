/// The "base subject" of RFC 5256 section 2.1, by which SORT SUBJECT orders and both THREAD
/// algorithms group, and whether extracting it found a reply or forward marker (section 2.1's
/// definition, used by THREAD=REFERENCES step 5).
///
/// ```
/// subject      = *subj-leader [subj-middle] *subj-trailer
/// subj-refwd   = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
/// subj-blob    = "[" *BLOBCHAR "]" *WSP
/// subj-fwd     = subj-fwd-hdr subject subj-fwd-trl      ; "[fwd:" ... "]"
/// subj-leader  = (*subj-blob subj-refwd) / WSP
/// subj-trailer = "(fwd)" / WSP
/// ```
/// The RFC requires every server and disconnected client to use exactly this procedure, so the
/// steps below follow its numbering; `Re(2):`, `Aw:` and other local prefixes are not removed.
public struct BaseSubject: Hashable, Sendable {
    /// The extracted text, white space collapsed, case kept.
    public var text: String
    /// A `Re:`/`Fw:`/`Fwd:` leader, a `(fwd)` trailer or a `[fwd: ...]` wrapper was removed.
    public var isReplyOrForward: Bool

    /// `subject` is the decoded Subject header (step 1's RFC 2047 decoding is the MIME reader's).
    public init(_ subject: String) {
        // (1) Tabs and line breaks become spaces; runs of spaces become one.
        var scalars: [Unicode.Scalar] = []
        for scalar in subject.unicodeScalars {
            let isSpace = scalar == " " || scalar == "\t" || scalar == "\r" || scalar == "\n"
            if isSpace {
                if scalars.last != " " { scalars.append(" ") }
            } else {
                scalars.append(scalar)
            }
        }
        var text = scalars[...]
        var marked = false
        while true {
            // (2) Trailing white space and "(fwd)".
            while true {
                if text.last == " " {
                    text.removeLast()
                } else if Self.hasSuffixIgnoringCase(text, "(fwd)") {
                    text.removeLast(5)
                    marked = true
                } else {
                    break
                }
            }
            // (3) to (5): leaders, then a leading blob that leaves something behind, until neither applies.
            while true {
                if text.first == " " {
                    text.removeFirst()
                } else if let rest = Self.afterReplyOrForwardLeader(text) {
                    text = rest
                    marked = true
                } else if let rest = Self.afterBlob(text), !rest.isEmpty {
                    text = rest
                } else {
                    break
                }
            }
            // (6) "[fwd:" ... "]" around everything: unwrap and start again at (2).
            guard Self.hasPrefixIgnoringCase(text, "[fwd:"), text.last == "]" else { break }
            text = text.dropFirst(5).dropLast()
            marked = true
        }
        self.text = String(String.UnicodeScalarView(text))
        self.isReplyOrForward = marked
    }

    /// `*subj-blob subj-refwd` at the start of `text`: what follows it, or nil.
    static func afterReplyOrForwardLeader(_ text: ArraySlice<Unicode.Scalar>) -> ArraySlice<Unicode.Scalar>? {
        var rest = text
        while let next = afterBlob(rest) { rest = next }
        if hasPrefixIgnoringCase(rest, "re") {
            rest = rest.dropFirst(2)
        } else if hasPrefixIgnoringCase(rest, "fwd") {
            rest = rest.dropFirst(3)
        } else if hasPrefixIgnoringCase(rest, "fw") {
            rest = rest.dropFirst(2)
        } else {
            return nil
        }
        while rest.first == " " { rest.removeFirst() }
        if let next = afterBlob(rest) { rest = next }
        guard rest.first == ":" else { return nil }
        return rest.dropFirst()
    }

    /// `subj-blob` at the start of `text` (a bracketed run without brackets inside, then spaces):
    /// what follows it, or nil.
    static func afterBlob(_ text: ArraySlice<Unicode.Scalar>) -> ArraySlice<Unicode.Scalar>? {
        guard text.first == "[" else { return nil }
        var rest = text.dropFirst()
        while let scalar = rest.first, scalar != "]" {
            if scalar == "[" { return nil }
            rest.removeFirst()
        }
        guard rest.first == "]" else { return nil }
        rest.removeFirst()
        while rest.first == " " { rest.removeFirst() }
        return rest
    }

    static func hasPrefixIgnoringCase(_ text: ArraySlice<Unicode.Scalar>, _ prefix: String) -> Bool {
        let wanted = Array(prefix.unicodeScalars)
        guard text.count >= wanted.count else { return false }
        return zip(text, wanted).allSatisfy { asciiLower($0) == $1 }
    }

    static func hasSuffixIgnoringCase(_ text: ArraySlice<Unicode.Scalar>, _ suffix: String) -> Bool {
        let wanted = Array(suffix.unicodeScalars)
        guard text.count >= wanted.count else { return false }
        return zip(text.suffix(wanted.count), wanted).allSatisfy { asciiLower($0) == $1 }
    }

    static func asciiLower(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        guard ("A"..."Z").contains(scalar) else { return scalar }
        return Unicode.Scalar(scalar.value + 32)!
    }
}
