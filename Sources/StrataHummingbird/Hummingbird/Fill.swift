import HTTPTypes
import Hummingbird
import NIOCore
import Strata
import Synchronization

/// What the loader of one request produced, for that request only.
final class FillBox: Sendable {
    enum Outcome: Sendable {
        case stored(fillID: UInt64)
        case notStored(Response, body: ByteBuffer?, decision: StoreDecision)
        case failed(HandlerError)
    }

    private let state = Mutex<Outcome?>(nil)

    func set(_ outcome: Outcome) { state.withLock { $0 = outcome } }

    /// The outcome, once; later calls return `nil`.
    func take() -> Outcome? { state.withLock { $0.take() } }

    var isEmpty: Bool { state.withLock { $0 == nil } }

    var storedFillID: UInt64? {
        state.withLock { outcome in
            if case .stored(let fillID) = outcome { return fillID }
            return nil
        }
    }
}

/// Thrown by a loader whose handler failed (5xx or an error), so that Strata's fail-safe can
/// serve a stale response; the request that ran the loader finds the real outcome in its box.
struct OriginFailure: Error {}

/// Carries a non-`Sendable` error out of the loader to the request that ran it.
struct HandlerError: Error, @unchecked Sendable {
    // Written once by the loader and read once by the request, never concurrently.
    let error: any Error
}

/// One request's loader: runs the rest of the chain and decides whether its response is stored.
struct Fill<Context: RequestContext>: Sendable {
    let responses: ResponseCache
    let policy: ResponseCachePolicy
    let next: any HTTPResponder<Context>
    let request: Request
    let context: Context
    let key: ResponseCacheKey
    let hasCredentials: Bool
    let box = FillBox()

    var load: @Sendable () async throws -> CachedResponse? { { try await run() } }

    private func run() async throws -> CachedResponse? {
        let generation = responses.generation.load(ordering: .sequentiallyConsistent)
        let response: Response
        do {
            do {
                response = try await next.respond(to: request, context: context)
            } catch let error as any HTTPResponseError {
                response = try error.response(from: request, context: context)
            }
        } catch {
            responses.configuration.metrics.notStored("origin-error")
            box.set(.failed(HandlerError(error: error)))
            throw OriginFailure()
        }
        if response.status.code >= 500 {
            responses.configuration.metrics.notStored("origin-error")
            box.set(.notStored(response, body: nil, decision: StoreDecision(refusal: nil, emitted: .noStoreUnlessSet)))
            throw OriginFailure()
        }
        if let length = response.body.contentLength, length > policy.maximumBodyBytes {
            return refuse(response, body: nil, StoreDecision(refusal: .bodyTooLarge, emitted: .noStoreUnlessSet))
        }
        let body: ByteBuffer
        do {
            body = try await BodyCollector.collect(response)
        } catch {
            box.set(.failed(HandlerError(error: error)))
            throw OriginFailure()
        }
        let tags = tags(of: response)
        let facts = StoreDecision.Facts(
            status: Int(response.status.code), cacheControl: CacheControl(parsing: response.headers[values: .cacheControl]),
            varyNames: Self.varyNames(response.headers), hasSetCookie: response.headers[.setCookie] != nil,
            bodyBytes: body.readableBytes, requestHasCredentials: hasCredentials, tags: tags)
        var decision = StoreDecision.decide(facts, policy: policy)
        if decision.refusal == nil, responses.generation.load(ordering: .sequentiallyConsistent) != generation {
            decision = StoreDecision(refusal: .invalidatedWhileLoading, emitted: .noStoreUnlessSet)
        }
        if decision.refusal == nil, await !recordTags(tags) {
            decision = StoreDecision(refusal: .tagIndex, emitted: .noStoreUnlessSet)
        }
        guard decision.refusal == nil else { return refuse(response, body: body, decision) }
        let stored = storedResponse(response, body: body, tags: tags, handlerSaidPublic: facts.cacheControl.isPublic)
        box.set(.stored(fillID: stored.fillID))
        return stored
    }

    private func refuse(_ response: Response, body: ByteBuffer?, _ decision: StoreDecision) -> CachedResponse? {
        responses.configuration.metrics.notStored(decision.refusal?.rawValue ?? "origin-error")
        box.set(.notStored(response, body: body, decision: decision))
        return nil
    }

    /// The route's tags, the request's, the handler's (`Strata-Tags`), and the URI tag.
    private func tags(of response: Response) -> [String] {
        var tags = policy.tags
        tags += policy.requestTags?(request, context.parameters) ?? []
        for line in response.headers[values: SurrogateKeys.handlerTagsHeader] {
            tags += line.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        }
        tags.append(ResponseCacheKey.uriTag(host: key.host, path: key.path))
        var seen = Set<String>()
        return tags.filter { seen.insert($0).inserted }
    }

    private func recordTags(_ tags: [String]) async -> Bool {
        let options = policy.entryOptions
        let lifetime = options.expiration.freshFor + max(options.staleness.whileRevalidate, options.staleness.ifError)
        do {
            return try await responses.tagIndex.record(member: key.text, tags: tags, lifetime: lifetime)
        } catch {
            responses.configuration.metrics.tagIndexFailures.increment()
            responses.configuration.logger.warning(
                "tag index unreachable; response served but not stored", metadata: ["error": "\(type(of: error))"])
            return false
        }
    }

    private func storedResponse(_ response: Response, body: ByteBuffer, tags: [String], handlerSaidPublic: Bool) -> CachedResponse {
        var skipped = StoredFields.unstored
        for style in responses.configuration.surrogateKeyStyles { skipped.insert(style.header.canonicalName) }
        if !policy.storesSetCookie { skipped.insert("set-cookie") }
        var fields: [CachedResponse.HeaderField] = []
        for field in response.headers where !skipped.contains(field.name.canonicalName) {
            fields.append(.init(name: field.name.rawName, value: field.value))
        }
        let bytes = Array(body.readableBytesView)
        let entityTag = EntityTag.strong(for: bytes)
        let control = StoreDecision.storedCacheControl(policy: policy, handlerSaidPublic: handlerSaidPublic)
        fields.append(.init(name: "Cache-Control", value: control.fieldValue))
        fields.append(.init(name: "ETag", value: entityTag))
        let vary = Array(Set(policy.varyNames + Self.varyNames(response.headers))).sorted()
        if !vary.isEmpty { fields.append(.init(name: "Vary", value: vary.joined(separator: ", "))) }
        for style in responses.configuration.surrogateKeyStyles {
            fields.append(.init(name: style.header.rawName, value: style.render(tags)))
        }
        return CachedResponse(
            fillID: UInt64.random(in: 1...UInt64.max), status: Int(response.status.code), headers: fields, body: bytes,
            storedAt: responses.configuration.clock.now.millisecondsSinceEpoch, entityTag: entityTag, tags: tags)
    }

    /// Lower-cased names in the response's `Vary` lines.
    static func varyNames(_ headers: HTTPFields) -> [String] {
        headers[values: .vary].flatMap { line in
            line.split(separator: ",").map { $0.trimmingHTTPWhitespace().lowercased() }.filter { !$0.isEmpty }
        }
    }
}

enum StoredFields {
    /// Header fields never replayed from the cache: hop-by-hop, per-response, and the ones the
    /// cache writes itself.
    static let unstored: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "date", "age",
        "content-length", "cache-status", "strata-tags", "cache-control", "etag", "vary",
    ]
}
