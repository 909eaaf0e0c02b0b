import MIME
import MailPipeline

/// `multipart/form-data` (RFC 7578) read with the MIME parser: the request body is a MIME
/// multipart body, so a header line naming its boundary makes it a message we already parse.
struct MultipartFormData {
    struct Field {
        let name: String
        let filename: String?
        let contentType: String
        let data: [UInt8]
    }

    let fields: [Field]

    /// The boundary of a `multipart/form-data` Content-Type, or nil when it is not one.
    static func boundary(contentType: String) -> String? {
        guard let parsed = ContentType.parse(Array(contentType.utf8)), parsed.type == "multipart", parsed.subtype == "form-data",
              let boundary = parsed.parameters.value(of: "boundary"), !boundary.isEmpty, boundary.utf8.count <= 70 else { return nil }
        return boundary
    }

    /// The fields of `body`, parsed as MIME off the event loop when that is costly (`MessageParsing`).
    static func parse(body: [UInt8], boundary: String) async throws -> MultipartFormData {
        try MultipartFormData(parsed: await MessageParsing.message(Self.message(body: body, boundary: boundary)))
    }

    /// The body as a MIME message: its Content-Type header, then the body.
    private static func message(body: [UInt8], boundary: String) -> [UInt8] {
        var message = Array("Content-Type: multipart/form-data; boundary=\"\(boundary)\"\r\n\r\n".utf8)
        message.append(contentsOf: body)
        return message
    }

    private init(parsed: MIMEMessage) throws {
        var fields: [Field] = []
        for part in parsed.root.children {
            guard let disposition = part.contentDisposition, disposition.type == "form-data",
                  let name = disposition.parameters.value(of: "name") else {
                throw APIError(.invalidRequest, "every multipart part needs Content-Disposition: form-data with a name")
            }
            fields.append(Field(name: name, filename: disposition.filename,
                                contentType: part.hasExplicitContentType ? part.contentType.mimeType : "application/octet-stream",
                                data: parsed.decodedBody(of: part)))
        }
        guard !fields.isEmpty else { throw APIError(.invalidRequest, "the multipart body has no parts (check the boundary)") }
        self.fields = fields
    }
}
