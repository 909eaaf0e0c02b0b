import NIOCore

/// The parameters of a MAIL command that this grammar knows, and the rest in order.
///
/// ```
/// C: MAIL FROM:<ned@thor.innosoft.com> SIZE=500000 BODY=8BITMIME
/// -> MailParameters(size: 500000, body: .eightBitMIME)
/// ```
/// Which of these the server advertised is the session's concern: a parameter of an extension
/// it did not offer deserves `555 5.5.4` like an unknown one.
public struct MailParameters: Hashable, Sendable {
    /// `SIZE=` (RFC 1870): the size the client declares, in octets. A declared size too large
    /// for `Int` is clamped to `Int.max`, which any maximum refuses.
    public var size: Int?
    /// `BODY=` (RFC 6152, RFC 3030).
    public var body: MailBodyType?
    /// `SMTPUTF8` (RFC 6531): the envelope or content needs UTF-8.
    public var smtpUTF8: Bool
    /// `AUTH=` (RFC 4954 section 5) as sent: an xtext-encoded mailbox, or `<>`.
    public var auth: String?
    /// `RET=` (RFC 3461 section 4.3) as sent: `FULL` or `HDRS`.
    public var ret: String?
    /// `ENVID=` (RFC 3461 section 4.4) as sent, xtext-encoded.
    public var envid: String?
    /// Every other parameter, in the order sent.
    public var unrecognized: [ESMTPParameter]

    public init(
        size: Int? = nil,
        body: MailBodyType? = nil,
        smtpUTF8: Bool = false,
        auth: String? = nil,
        ret: String? = nil,
        envid: String? = nil,
        unrecognized: [ESMTPParameter] = []
    ) {
        self.size = size
        self.body = body
        self.smtpUTF8 = smtpUTF8
        self.auth = auth
        self.ret = ret
        self.envid = envid
        self.unrecognized = unrecognized
    }

    /// The parameters in wire form, in a fixed order (the unrecognized ones last, as sent).
    public var wireForms: [String] {
        var out: [String] = []
        if let size { out.append("SIZE=\(size)") }
        if let body { out.append("BODY=\(body.rawValue)") }
        if smtpUTF8 { out.append("SMTPUTF8") }
        if let auth { out.append("AUTH=\(auth)") }
        if let ret { out.append("RET=\(ret)") }
        if let envid { out.append("ENVID=\(envid)") }
        out.append(contentsOf: unrecognized.map(\.wireForm))
        return out
    }

    func write(into buffer: inout ByteBuffer) {
        for parameter in wireForms {
            buffer.writeString(" \(parameter)")
        }
    }
}
