import AsyncHTTPClient
import HTTPTypes
import NIOCore
import NIOPosix
import NIOSSL
import Testing

import Cluster
@testable import HTTPAPI

#if canImport(Glibc)
import Glibc
#endif

/// A request relayed to another region is sent to a second node only when doing it twice cannot
/// matter: a method that is idempotent, or a first attempt that never reached its node.
@Suite struct GrantForwardingRetryTests {
    @Test func onlyIdempotentMethodsAreRepeatedAfterAnAnswerWentMissing() {
        for method: HTTPRequest.Method in [.get, .head, .options, .put, .delete] {
            #expect(GrantForwardingMiddleware.isIdempotent(method), "\(method)")
        }
        for method: HTTPRequest.Method in [.post, .patch] {
            #expect(!GrantForwardingMiddleware.isIdempotent(method), "\(method)")
        }
    }

    @Test func aConnectionNeverMadeIsToldApartFromOneThatBroke() {
        #expect(ClusterLink.neverReached(HTTPClientError.connectTimeout))
        #expect(ClusterLink.neverReached(IOError(errnoCode: ECONNREFUSED, reason: "connect")))
        #expect(ClusterLink.neverReached(ChannelError.connectTimeout(.seconds(1))))
        #expect(ClusterLink.neverReached(HTTPClientError.tlsHandshakeTimeout))
        #expect(ClusterLink.neverReached(NIOSSLError.handshakeFailed(.sslError([]))))
        #expect(!ClusterLink.neverReached(NIOSSLError.uncleanShutdown))
        #expect(!ClusterLink.neverReached(HTTPClientError.remoteConnectionClosed))
        #expect(!ClusterLink.neverReached(HTTPClientError.readTimeout))
        #expect(!ClusterLink.neverReached(IOError(errnoCode: ECONNRESET, reason: "read")))
        #expect(!ClusterLink.neverReached(CancellationError()))
    }
}
