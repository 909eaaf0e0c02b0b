import Hummingbird
import MailCore
import Storage

/// `/v3/policies`, `/v3/rules`, `/v3/lists` (with `/items`) and `/v3/workspaces`: the
/// application's guardrails. Each change is written into every region's copy, this region's first,
/// before the answer, so that every node of every region enforces it from then on; reads come from
/// this region's copy.
struct GuardrailsController {
    /// Every region's store, this node's region first.
    let stores: [(Region, PostgresGuardrailStore)]
    let grants: GrantService
    let applicationID: String
    let jsonBodyLimit: Int
    let plan: MailPlan

    var local: PostgresGuardrailStore { stores[0].1 }

    func register(on group: RouterGroup<APIRequestContext>) {
        group.post("policies", use: createPolicy)
        group.get("policies", use: listPolicies)
        group.get("policies/{policy_id}", use: showPolicy)
        group.put("policies/{policy_id}", use: updatePolicy)
        group.delete("policies/{policy_id}", use: deletePolicy)

        group.post("rules", use: createRule)
        group.get("rules", use: listRules)
        group.get("rules/{rule_id}", use: showRule)
        group.put("rules/{rule_id}", use: updateRule)
        group.delete("rules/{rule_id}", use: deleteRule)

        group.post("lists", use: createList)
        group.get("lists", use: listLists)
        group.get("lists/{list_id}", use: showList)
        group.put("lists/{list_id}", use: updateList)
        group.delete("lists/{list_id}", use: deleteList)
        group.post("lists/{list_id}/items", use: addItems)
        group.get("lists/{list_id}/items", use: listItems)
        group.delete("lists/{list_id}/items", use: removeItems)

        group.get("workspaces", use: listWorkspaces)
        group.post("workspaces", use: createWorkspace)
        group.get("workspaces/{workspace_id}", use: showWorkspace)
        group.patch("workspaces/{workspace_id}", use: updateWorkspace)
        group.delete("workspaces/{workspace_id}", use: deleteWorkspace)

        group.get("grants/{grant_id}/rule-evaluations", use: listEvaluations)
    }

    // MARK: - Rule evaluations

    /// A grant's evaluations, newest first (served in its home region: the route is forwarded there).
    @Sendable func listEvaluations(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let paging = try PageRequest(FormQuery(request.uri.query))
        let page: (evaluations: [RuleEvaluation], next: String?)
        do {
            page = try await local.evaluations(grant: grant.id, after: paging.cursor, limit: paging.limit)
        } catch MailStoreError.invalidCursor {
            throw APIError(.invalidRequest, "page_token is not valid")
        }
        struct Shown: Encodable {
            let evaluation: RuleEvaluation
            let applicationID: String
            enum CodingKeys: String, CodingKey { case applicationID = "application_id" }
            func encode(to encoder: any Encoder) throws {
                try evaluation.encode(to: encoder)
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(applicationID, forKey: .applicationID)
            }
        }
        return try JSONResponses.list(page.evaluations.map { Shown(evaluation: $0, applicationID: applicationID) }, nextCursor: page.next,
                                      context: context)
    }

    // MARK: - Policies

    @Sendable func createPolicy(request: Request, context: APIRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(PolicyRequest.self, from: request, limit: jsonBodyLimit)
        try GuardrailValidation.roomFor(.policy, existing: try await local.all(.policy, as: MailPolicy.self).count)
        let now = WallClock.unixSeconds()
        let policy = MailPolicy(id: ObjectIDGenerator.uuid(), name: try GuardrailValidation.name(body.name, required: true)!,
                                limits: try GuardrailValidation.limits(body.limits, over: .init(), plan: plan),
                                spamDetection: try GuardrailValidation.spamDetection(body.spamDetection, over: .init()),
                                createdAt: now, updatedAt: now)
        try await writeEverywhere(context, "policy \(policy.id)", object: (.policy, policy.id), undo: { _ = try await $0.delete(.policy, id: policy.id) }) {
            try await $0.put(.policy, id: policy.id, policy, createdAt: now)
        }
        return try JSONResponses.data(PolicyObject(policy: policy, applicationID: applicationID, plan: plan), context: context)
    }

    @Sendable func listPolicies(request: Request, context: APIRequestContext) async throws -> Response {
        let (page, next) = try Self.page(try await local.all(.policy, as: MailPolicy.self), id: \.id, created: \.createdAt, request)
        return try JSONResponses.list(page.map { PolicyObject(policy: $0, applicationID: applicationID, plan: plan) }, nextCursor: next, context: context)
    }

    @Sendable func showPolicy(request: Request, context: APIRequestContext) async throws -> Response {
        try JSONResponses.data(PolicyObject(policy: try await existingPolicy(context), applicationID: applicationID, plan: plan), context: context)
    }

    @Sendable func updatePolicy(request: Request, context: APIRequestContext) async throws -> Response {
        var policy = try await existingPolicy(context)
        let previous = policy
        let body = try await JSONBody.decode(PolicyRequest.self, from: request, limit: jsonBodyLimit)
        if let name = try GuardrailValidation.name(body.name, required: false) { policy.name = name }
        policy.limits = try GuardrailValidation.limits(body.limits, over: policy.limits, plan: plan)
        policy.spamDetection = try GuardrailValidation.spamDetection(body.spamDetection, over: policy.spamDetection)
        policy.updatedAt = WallClock.unixSeconds()
        try await writeEverywhere(context, "policy \(policy.id)", object: (.policy, policy.id), undo: { try await $0.put(.policy, id: previous.id, previous, createdAt: previous.createdAt) }) {
            [policy] in try await $0.put(.policy, id: policy.id, policy, createdAt: policy.createdAt)
        }
        return try JSONResponses.data(PolicyObject(policy: policy, applicationID: applicationID, plan: plan), context: context)
    }

    @Sendable func deletePolicy(request: Request, context: APIRequestContext) async throws -> Response {
        let policy = try await existingPolicy(context)
        // Deleting a policy in force would lift its limits without anyone deciding so.
        let users = try await local.all(.workspace, as: Workspace.self).filter { $0.policyID == policy.id }
        guard users.isEmpty else {
            throw APIError(.invalidRequest, "policy \(policy.id) is the policy of workspace \(users.map(\.id).joined(separator: ", ")); detach it first")
        }
        try await writeEverywhere(context, "policy \(policy.id)", object: (.policy, policy.id), localLast: true) { _ = try await $0.delete(.policy, id: policy.id) }
        return try JSONResponses.json(JSONResponses.RequestIDEnvelope(requestID: context.requestID), status: .ok)
    }

    private func existingPolicy(_ context: APIRequestContext) async throws -> MailPolicy {
        let id = context.parameters.get("policy_id") ?? ""
        guard id.count <= 64, let policy = try await local.one(.policy, id: id, as: MailPolicy.self) else {
            throw APIError(.notFound, "no policy with id \(id.prefix(64))")
        }
        return policy
    }

    // MARK: - Rules

    @Sendable func createRule(request: Request, context: APIRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(RuleRequest.self, from: request, limit: jsonBodyLimit)
        try GuardrailValidation.roomFor(.rule, existing: try await local.all(.rule, as: MailRule.self).count)
        let rule = try GuardrailValidation.rule(body, over: nil, id: ObjectIDGenerator.uuid(), now: WallClock.unixSeconds(),
                                                lists: try await listsByID())
        try await writeEverywhere(context, "rule \(rule.id)", object: (.rule, rule.id), undo: { _ = try await $0.delete(.rule, id: rule.id) }) {
            try await $0.put(.rule, id: rule.id, rule, createdAt: rule.createdAt)
        }
        return try JSONResponses.data(RuleObject(rule: rule, applicationID: applicationID), context: context, status: .created)
    }

    @Sendable func listRules(request: Request, context: APIRequestContext) async throws -> Response {
        let (page, next) = try Self.page(try await local.all(.rule, as: MailRule.self), id: \.id, created: \.createdAt, request)
        return try JSONResponses.list(page.map { RuleObject(rule: $0, applicationID: applicationID) }, nextCursor: next, context: context)
    }

    @Sendable func showRule(request: Request, context: APIRequestContext) async throws -> Response {
        try JSONResponses.data(RuleObject(rule: try await existingRule(context), applicationID: applicationID), context: context)
    }

    @Sendable func updateRule(request: Request, context: APIRequestContext) async throws -> Response {
        let current = try await existingRule(context)
        let body = try await JSONBody.decode(RuleRequest.self, from: request, limit: jsonBodyLimit)
        let rule = try GuardrailValidation.rule(body, over: current, id: current.id, now: WallClock.unixSeconds(), lists: try await listsByID())
        try await writeEverywhere(context, "rule \(rule.id)", object: (.rule, rule.id), undo: { try await $0.put(.rule, id: current.id, current, createdAt: current.createdAt) }) {
            try await $0.put(.rule, id: rule.id, rule, createdAt: rule.createdAt)
        }
        return try JSONResponses.data(RuleObject(rule: rule, applicationID: applicationID), context: context)
    }

    /// The rule leaves every workspace that listed it, then goes.
    @Sendable func deleteRule(request: Request, context: APIRequestContext) async throws -> Response {
        let rule = try await existingRule(context)
        let now = WallClock.unixSeconds()
        for var workspace in try await local.all(.workspace, as: Workspace.self) where workspace.ruleIDs.contains(rule.id) {
            let previous = workspace
            workspace.ruleIDs.removeAll { $0 == rule.id }
            workspace.updatedAt = now
            try await writeEverywhere(context, "workspace \(workspace.id)", object: (.workspace, workspace.id),
                                      undo: { try await $0.put(.workspace, id: previous.id, previous, createdAt: previous.createdAt) }) { [workspace] in
                try await $0.put(.workspace, id: workspace.id, workspace, createdAt: workspace.createdAt)
            }
        }
        try await writeEverywhere(context, "rule \(rule.id)", object: (.rule, rule.id), localLast: true) { _ = try await $0.delete(.rule, id: rule.id) }
        return try JSONResponses.json(JSONResponses.RequestIDEnvelope(requestID: context.requestID), status: .ok)
    }

    private func existingRule(_ context: APIRequestContext) async throws -> MailRule {
        let id = context.parameters.get("rule_id") ?? ""
        guard id.count <= 64, let rule = try await local.one(.rule, id: id, as: MailRule.self) else {
            throw APIError(.notFound, "no rule with id \(id.prefix(64))")
        }
        return rule
    }

    private func listsByID() async throws -> [String: AddressList] {
        Dictionary(uniqueKeysWithValues: try await local.all(.list, as: AddressList.self).map { ($0.id, $0) })
    }

    // MARK: - Lists

    @Sendable func createList(request: Request, context: APIRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(ListRequest.self, from: request, limit: jsonBodyLimit)
        try GuardrailValidation.roomFor(.list, existing: try await local.all(.list, as: AddressList.self).count)
        let now = WallClock.unixSeconds()
        let list = AddressList(id: ObjectIDGenerator.uuid(), name: try GuardrailValidation.name(body.name, required: true)!,
                               description: try GuardrailValidation.description(body.description.value),
                               kind: try GuardrailValidation.listKind(body.type), createdAt: now, updatedAt: now)
        try await writeEverywhere(context, "list \(list.id)", object: (.list, list.id), undo: { _ = try await $0.delete(.list, id: list.id) }) {
            try await $0.put(.list, id: list.id, list, createdAt: now)
        }
        return try JSONResponses.data(ListObject(list: list, itemsCount: 0, applicationID: applicationID), context: context, status: .created)
    }

    @Sendable func listLists(request: Request, context: APIRequestContext) async throws -> Response {
        let (page, next) = try Self.page(try await local.all(.list, as: AddressList.self), id: \.id, created: \.createdAt, request)
        let counts = try await local.itemCounts(lists: page.map(\.id))
        return try JSONResponses.list(page.map { ListObject(list: $0, itemsCount: counts[$0.id] ?? 0, applicationID: applicationID) },
                                      nextCursor: next, context: context)
    }

    @Sendable func showList(request: Request, context: APIRequestContext) async throws -> Response {
        try await listResponse(try await existingList(context), context)
    }

    @Sendable func updateList(request: Request, context: APIRequestContext) async throws -> Response {
        var list = try await existingList(context)
        let previous = list
        let body = try await JSONBody.decode(ListRequest.self, from: request, limit: jsonBodyLimit)
        if let type = body.type, type != list.kind.rawValue { throw APIError(.invalidRequest, "type cannot be changed") }
        if let name = try GuardrailValidation.name(body.name, required: false) { list.name = name }
        switch body.description {
        case .absent: break
        case .null: list.description = nil
        case .value(let text): list.description = try GuardrailValidation.description(text)
        }
        list.updatedAt = WallClock.unixSeconds()
        try await writeEverywhere(context, "list \(list.id)", object: (.list, list.id), undo: { try await $0.put(.list, id: previous.id, previous, createdAt: previous.createdAt) }) {
            [list] in try await $0.put(.list, id: list.id, list, createdAt: list.createdAt)
        }
        return try await listResponse(list, context)
    }

    @Sendable func deleteList(request: Request, context: APIRequestContext) async throws -> Response {
        let list = try await existingList(context)
        try await writeEverywhere(context, "list \(list.id)", object: (.list, list.id), localLast: true) { _ = try await $0.delete(.list, id: list.id) }
        return try JSONResponses.json(JSONResponses.RequestIDEnvelope(requestID: context.requestID), status: .ok)
    }

    @Sendable func addItems(request: Request, context: APIRequestContext) async throws -> Response {
        let list = try await existingList(context)
        let body = try await JSONBody.decode(ListItemsRequest.self, from: request, limit: jsonBodyLimit)
        let values = try GuardrailValidation.items(body.items, kind: list.kind)
        let held = try await local.itemCounts(lists: [list.id])[list.id] ?? 0
        guard held + values.count <= GuardrailValidation.maximumItemsPerList else {
            throw APIError(.invalidRequest, "items: a list holds at most \(GuardrailValidation.maximumItemsPerList) values (this one holds \(held))")
        }
        let now = WallClock.unixSeconds()
        try await writeEverywhere(context, "items of list \(list.id)") { try await $0.addItems(list: list.id, values: values, now: now) }
        return try await listResponse(list, context)
    }

    @Sendable func removeItems(request: Request, context: APIRequestContext) async throws -> Response {
        let list = try await existingList(context)
        let body = try await JSONBody.decode(ListItemsRequest.self, from: request, limit: jsonBodyLimit)
        guard let items = body.items, !items.isEmpty, items.count <= AddressList.maximumItemsPerRequest else {
            throw APIError(.invalidRequest, "items must hold 1 to \(AddressList.maximumItemsPerRequest) values")
        }
        // A value that could not be in the list is simply not there.
        let values = items.compactMap { AddressList.normalized($0, kind: list.kind) }
        try await writeEverywhere(context, "items of list \(list.id)") { try await $0.removeItems(list: list.id, values: values) }
        return try await listResponse(list, context)
    }

    @Sendable func listItems(request: Request, context: APIRequestContext) async throws -> Response {
        let list = try await existingList(context)
        let paging = try PageRequest(FormQuery(request.uri.query))
        let page: (items: [PostgresGuardrailStore.ListItem], next: String?)
        do {
            page = try await local.items(list: list.id, after: paging.cursor, limit: paging.limit)
        } catch MailStoreError.invalidCursor {
            throw APIError(.invalidRequest, "page_token is not valid")
        }
        return try JSONResponses.list(page.items.map { ListItemObject(id: $0.id, listID: list.id, value: $0.value, createdAt: $0.createdAt) },
                                      nextCursor: page.next, context: context)
    }

    private func listResponse(_ list: AddressList, _ context: APIRequestContext) async throws -> Response {
        let count = try await local.itemCounts(lists: [list.id])[list.id] ?? 0
        return try JSONResponses.data(ListObject(list: list, itemsCount: count, applicationID: applicationID), context: context)
    }

    private func existingList(_ context: APIRequestContext) async throws -> AddressList {
        let id = context.parameters.get("list_id") ?? ""
        guard id.count <= 64, let list = try await local.one(.list, id: id, as: AddressList.self) else {
            throw APIError(.notFound, "no list with id \(id.prefix(64))")
        }
        return list
    }

    // MARK: - Workspaces

    @Sendable func listWorkspaces(request: Request, context: APIRequestContext) async throws -> Response {
        let workspaces = try await local.all(.workspace, as: Workspace.self)
        return try JSONResponses.data(workspaces.map { WorkspaceObject(workspace: $0, applicationID: applicationID) }, context: context)
    }

    @Sendable func createWorkspace(request: Request, context: APIRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(WorkspaceRequest.self, from: request, limit: jsonBodyLimit)
        let name = try GuardrailValidation.name(body.name, required: true)!
        let domain = try GuardrailValidation.domain(body.domain)
        let existing = try await local.all(.workspace, as: Workspace.self)
        try GuardrailValidation.roomFor(.workspace, existing: existing.count)
        guard !existing.contains(where: { $0.domain == domain }) else {
            throw APIError(.invalidRequest, "domain: a workspace for \(domain) already exists")
        }
        let now = WallClock.unixSeconds()
        var workspace = Workspace(id: ObjectIDGenerator.uuid(), name: name, domain: domain, autoGroup: body.autoGroup ?? true, isDefault: false,
                                  policyID: nil, ruleIDs: [], createdAt: now, updatedAt: now)
        try await attach(body, to: &workspace)
        try await writeEverywhere(context, "workspace \(workspace.id)", object: (.workspace, workspace.id), undo: { [workspace] in _ = try await $0.delete(.workspace, id: workspace.id) }) {
            [workspace] in try await $0.put(.workspace, id: workspace.id, workspace, createdAt: now)
        }
        return try JSONResponses.data(WorkspaceObject(workspace: workspace, applicationID: applicationID), context: context)
    }

    @Sendable func showWorkspace(request: Request, context: APIRequestContext) async throws -> Response {
        try JSONResponses.data(WorkspaceObject(workspace: try await existingWorkspace(context, byDomain: true), applicationID: applicationID),
                               context: context)
    }

    @Sendable func updateWorkspace(request: Request, context: APIRequestContext) async throws -> Response {
        var workspace = try await existingWorkspace(context, byDomain: false)
        let previous = workspace
        let body = try await JSONBody.decode(WorkspaceRequest.self, from: request, limit: jsonBodyLimit)
        if let domain = body.domain, domain.lowercased() != workspace.domain {
            throw APIError(.invalidRequest, "domain cannot be changed")
        }
        if workspace.isDefault && (body.name != nil || body.autoGroup != nil) {
            throw APIError(.invalidRequest, "only policy_id and rule_ids of the default workspace can change")
        }
        if let name = try GuardrailValidation.name(body.name, required: false) { workspace.name = name }
        if let autoGroup = body.autoGroup { workspace.autoGroup = autoGroup }
        try await attach(body, to: &workspace)
        workspace.updatedAt = WallClock.unixSeconds()
        try await writeEverywhere(context, "workspace \(workspace.id)", object: (.workspace, workspace.id),
                                  undo: { try await $0.put(.workspace, id: previous.id, previous, createdAt: previous.createdAt) }) { [workspace] in
            try await $0.put(.workspace, id: workspace.id, workspace, createdAt: workspace.createdAt)
        }
        return try JSONResponses.data(WorkspaceObject(workspace: workspace, applicationID: applicationID), context: context)
    }

    /// A deleted workspace's grants fall back to the default workspace.
    @Sendable func deleteWorkspace(request: Request, context: APIRequestContext) async throws -> Response {
        let workspace = try await existingWorkspace(context, byDomain: true)
        guard !workspace.isDefault else { throw APIError(.invalidRequest, "the default workspace cannot be deleted") }
        try await writeEverywhere(context, "workspace \(workspace.id)", object: (.workspace, workspace.id), localLast: true) { _ = try await $0.delete(.workspace, id: workspace.id) }
        return try JSONResponses.json(JSONResponses.RequestIDEnvelope(requestID: context.requestID), status: .ok)
    }

    /// `policy_id`: a string attaches, null detaches, absent keeps; `rule_ids`: an array replaces,
    /// null or [] detaches all. Every id must name an object of the application.
    private func attach(_ body: WorkspaceRequest, to workspace: inout Workspace) async throws {
        switch body.policyID {
        case .absent: break
        case .null: workspace.policyID = nil
        case .value(let id):
            guard !id.isEmpty, id.count <= 64, try await local.one(.policy, id: id, as: MailPolicy.self) != nil else {
                throw APIError(.invalidRequest, "policy_id: no policy with id \(id.prefix(64))")
            }
            workspace.policyID = id
        }
        switch body.ruleIDs {
        case .absent: break
        case .null: workspace.ruleIDs = []
        case .value(let ids):
            let known = Set(try await local.all(.rule, as: MailRule.self).map(\.id))
            var kept: [String] = []
            for id in ids {
                guard known.contains(id) else { throw APIError(.invalidRequest, "rule_ids: no rule with id \(id.prefix(64))") }
                if !kept.contains(id) { kept.append(id) }
            }
            workspace.ruleIDs = kept
        }
    }

    private func existingWorkspace(_ context: APIRequestContext, byDomain: Bool) async throws -> Workspace {
        let key = (context.parameters.get("workspace_id") ?? "").lowercased()
        let workspaces = try await local.all(.workspace, as: Workspace.self)
        if let workspace = workspaces.first(where: { $0.id == key }) ?? (byDomain ? workspaces.first(where: { $0.domain == key }) : nil) {
            return workspace
        }
        throw APIError(.notFound, "no workspace with id \(key.prefix(64))")
    }

    // MARK: - Helpers

    /// Applies a change in every region. When a region fails, `undo` is applied to the regions
    /// already changed (newest first), so that the regions do not disagree, and the request fails
    /// with 503; without an undo (deletes, list items: repeating them finishes the job) the client
    /// is asked to repeat the request.
    private func writeEverywhere(_ context: APIRequestContext, _ what: String, object: (PostgresGuardrailStore.Kind, String)? = nil,
                                 localLast: Bool = false,
                                 undo: ((PostgresGuardrailStore) async throws -> Void)? = nil,
                                 _ change: (PostgresGuardrailStore) async throws -> Void) async throws {
        var done: [(Region, PostgresGuardrailStore)] = []
        // One revision for the change in every region, above the object's current one even when
        // this node's clock is behind the node that wrote that.
        var revision = GuardrailRevision.next()
        if let (kind, id) = object, let current = try await local.currentRevision(kind, id: id) {
            revision = max(revision, current + 1)
        }
        for (region, store) in localLast ? Array(stores.dropFirst() + stores.prefix(1)) : stores {
            do {
                try await change(store.revised(revision))
                done.append((region, store))
            } catch {
                // The failed region may have committed before the error (a deadline after COMMIT):
                // it is undone too. An undo holds only where this change is still the object's
                // latest, so it never overrides a later change made meanwhile.
                done.append((region, store))
                context.logger.error("guardrail change not applied in a region", metadata: ["region": "\(region)", "what": "\(what)", "error": "\(error)"])
                guard let undo else {
                    throw APIError(.unavailable, "\(what) could not be saved in region \(region); repeat the request")
                }
                var undone = true
                let undoRevision = GuardrailRevision.next()
                for (doneRegion, doneStore) in done.reversed() {
                    do {
                        try await undo(doneStore.undoing(revision, with: max(undoRevision, revision + 1)))
                    } catch {
                        undone = false
                        context.logger.error("guardrail change not undone in a region", metadata: ["region": "\(doneRegion)", "what": "\(what)",
                                                                                                 "error": "\(error)"])
                    }
                }
                throw APIError(.unavailable, "\(what) could not be saved in region \(region); "
                    + (undone ? "nothing was changed, try again" : "repeat the request"))
            }
        }
    }

    /// One page of objects ordered by creation (then id); the cursor is the previous page's last
    /// place in that order, so objects deleted meanwhile do not break it.
    static func page<Object>(_ all: [Object], id: KeyPath<Object, String>, created: KeyPath<Object, Int64>,
                             _ request: Request) throws -> ([Object], String?) {
        let paging = try PageRequest(FormQuery(request.uri.query))
        var rest = all[...]
        if let cursor = paging.cursor {
            guard let colon = cursor.firstIndex(of: ":"), let date = Int64(cursor[..<colon]) else {
                throw APIError(.invalidRequest, "page_token is not valid")
            }
            let after = String(cursor[cursor.index(after: colon)...])
            rest = rest.drop { ($0[keyPath: created], $0[keyPath: id]) <= (date, after) }
        }
        let page = Array(rest.prefix(paging.limit))
        guard rest.count > page.count, let last = page.last else { return (page, nil) }
        return (page, "\(last[keyPath: created]):\(last[keyPath: id])")
    }
}
