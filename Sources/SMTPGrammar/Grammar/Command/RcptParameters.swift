import NIOCore

/// The parameters of a RCPT command that this grammar knows, and the rest in order.
///
/// ```
/// C: RCPT TO:<Susan@Random.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Susan@Random.com
/// -> RcptParameters(notify: "SUCCESS,FAILURE", orcpt: "rfc822;Susan@Random.com")
/// ```
public struct RcptParameters: Hashable, Sendable {
    /// `NOTIFY=` (RFC 3461 section 4.1) as sent: `NEVER`, or a comma list of `SUCCESS`,
    /// `FAILURE` and `DELAY`.
    public var notify: String?
    /// `ORCPT=` (RFC 3461 section 4.2) as sent: `addr-type ";" xtext`.
    public var orcpt: String?
    /// Every other parameter, in the order sent.
    public var unrecognized: [ESMTPParameter]

    public init(notify: String? = nil, orcpt: String? = nil, unrecognized: [ESMTPParameter] = []) {
        self.notify = notify
        self.orcpt = orcpt
        self.unrecognized = unrecognized
    }

    /// The parameters in wire form, in a fixed order (the unrecognized ones last, as sent).
    public var wireForms: [String] {
        var out: [String] = []
        if let notify { out.append("NOTIFY=\(notify)") }
        if let orcpt { out.append("ORCPT=\(orcpt)") }
        out.append(contentsOf: unrecognized.map(\.wireForm))
        return out
    }

    func write(into buffer: inout ByteBuffer) {
        for parameter in wireForms {
            buffer.writeString(" \(parameter)")
        }
    }
}
