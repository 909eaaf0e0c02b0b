import AsyncHTTPClient
import Foundation
import NIOCore

/// Proves that whoever runs a webhook URL wants our notifications: `GET <url>?challenge=<random>`
/// must answer 200 with exactly that value, within the timeout.
struct WebhookChallenge: Sendable {
    var timeout: TimeAmount = .seconds(10)
    /// The most of the answer read: a challenge echo is short.
    static let maximumAnswerBytes = 4096

    /// Checks the URL's form: absolute http or https with a host, no credentials, at most 2048 bytes.
    static func validate(_ text: String) throws -> URL {
        guard text.utf8.count <= 2048, let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = components.host, !host.isEmpty, components.user == nil, components.password == nil,
              let url = components.url else {
            throw APIError(.invalidRequest, "webhook_url must be an absolute http or https URL without credentials")
        }
        return url
    }

    func verify(_ url: URL) async throws {
        let challenge = Self.randomChallenge()
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else {
            throw APIError(.invalidRequest, "webhook_url is not a valid URL")
        }
        components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "challenge", value: challenge)]
        guard let target = components.string else { throw APIError(.invalidRequest, "webhook_url is not a valid URL") }
        var request = HTTPClientRequest(url: target)
        request.method = .GET
        request.headers.add(name: "User-Agent", value: "mailnode-webhooks")
        let answer: String
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            guard response.status.code == 200 else {
                throw APIError(.invalidRequest, "webhook_url answered the verification challenge with HTTP \(response.status.code), not 200")
            }
            let body = try await response.body.collect(upTo: Self.maximumAnswerBytes)
            answer = String(buffer: body)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.invalidRequest, "webhook_url did not answer the verification challenge within \(timeout.nanoseconds / 1_000_000_000) s (\(error))")
        }
        guard answer.trimmingCharacters(in: .whitespacesAndNewlines) == challenge else {
            throw APIError(.invalidRequest, "webhook_url did not echo the verification challenge in its answer")
        }
    }

    static func randomChallenge() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)
        return String(decoding: (0..<32).map { _ in digits[Int.random(in: 0..<digits.count, using: &generator)] }, as: UTF8.self)
    }
}
