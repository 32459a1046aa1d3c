using System.Text.Json;
using System.Text.RegularExpressions;

namespace MailGateway.Infra.Tests;

/// <summary>What issue #6 asks of the deployment, checked on the snapshot azd would deploy.</summary>
[Collection(DeploymentSnapshotCollection.Name)]
public sealed partial class InfrastructureTests(DeploymentSnapshot snapshot)
{
    private static readonly Dictionary<string, string> RoleNames = new()
    {
        ["ba92f5b4-2d11-453d-a403-e96b0029c9fe"] = "Storage Blob Data Contributor",
        ["0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"] = "Storage Table Data Contributor",
        ["69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"] = "Azure Service Bus Data Sender",
        ["4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"] = "Azure Service Bus Data Receiver",
        ["090c5cfd-751d-490a-894a-3ce6f1109419"] = "Azure Service Bus Data Owner",
        ["4633458b-17de-408a-b874-0445c86b69e6"] = "Key Vault Secrets User",
        ["db79e9a7-68ee-4b58-9aeb-b90e7c24fcba"] = "Key Vault Certificate User",
        ["a4417e6f-fecd-4de8-b567-7b0420556985"] = "Key Vault Certificates Officer",
        ["b86a8fe4-44ce-4948-aee5-eccb2c155cd7"] = "Key Vault Secrets Officer",
        ["3913510d-42f4-4e42-8a64-420c390055eb"] = "Monitoring Metrics Publisher",
        ["7f951dda-4ed3-4680-a7ca-43fe172d538d"] = "AcrPull",
    };

    [Fact]
    public void Monitoring_accepts_no_local_keys()
    {
        var workspace = snapshot.Single("Microsoft.OperationalInsights/workspaces").GetProperty("properties");
        Assert.True(workspace.GetProperty("features").GetProperty("disableLocalAuth").GetBoolean());
        var insights = snapshot.Single("Microsoft.Insights/components").GetProperty("properties");
        Assert.True(insights.GetProperty("DisableLocalAuth").GetBoolean());
        Assert.False(string.IsNullOrEmpty(insights.GetProperty("WorkspaceResourceId").GetString()));
    }

    [Fact]
    public void Storage_has_no_shared_keys_and_the_containers_and_table_the_apps_use()
    {
        var account = snapshot.Single("Microsoft.Storage/storageAccounts").GetProperty("properties");
        Assert.False(account.GetProperty("allowSharedKeyAccess").GetBoolean());
        Assert.False(account.GetProperty("allowBlobPublicAccess").GetBoolean());
        Assert.Equal("TLS1_2", account.GetProperty("minimumTlsVersion").GetString());

        var containers = snapshot.OfType("Microsoft.Storage/storageAccounts/blobServices/containers")
            .Select(c => c.GetProperty("name").GetString()!.Split('/')[^1]).Order().ToList();
        Assert.Equal(["deployments", "inbound", "outbound"], containers);
        var tables = snapshot.OfType("Microsoft.Storage/storageAccounts/tableServices/tables")
            .Select(c => c.GetProperty("name").GetString()!.Split('/')[^1]).Order().ToList();
        Assert.Equal(["EventFeed", "IdempotencyKeys", "MessageStatus", "Suppressions", "Webhooks"], tables);
    }

    [Fact]
    public void A_lifecycle_rule_deletes_outbound_content_after_the_retention_and_nothing_else()
    {
        var policy = snapshot.Single("Microsoft.Storage/storageAccounts/managementPolicies");
        var rule = Assert.Single(policy.GetProperty("properties").GetProperty("policy").GetProperty("rules").EnumerateArray());
        Assert.True(rule.GetProperty("enabled").GetBoolean());
        var definition = rule.GetProperty("definition");
        Assert.Equal(["outbound/"], definition.GetProperty("filters").GetProperty("prefixMatch").EnumerateArray().Select(p => p.GetString()));
        var days = definition.GetProperty("actions").GetProperty("baseBlob").GetProperty("delete").GetProperty("daysAfterModificationGreaterThan").GetInt32();

        // Never before a message could still be delivered: MaxAge is 5 days.
        Assert.InRange(days, 6, 3650);
    }

    [Fact]
    public void Service_Bus_is_Standard_without_SAS_and_the_queue_detects_duplicates()
    {
        var ns = snapshot.Single("Microsoft.ServiceBus/namespaces");
        Assert.Equal("Standard", ns.GetProperty("sku").GetProperty("name").GetString());
        Assert.True(ns.GetProperty("properties").GetProperty("disableLocalAuth").GetBoolean());

        var queue = snapshot.Single("Microsoft.ServiceBus/namespaces/queues");
        Assert.EndsWith("/outbound", queue.GetProperty("name").GetString(), StringComparison.Ordinal);
        var q = queue.GetProperty("properties");
        Assert.True(q.GetProperty("requiresDuplicateDetection").GetBoolean());
        Assert.Matches("^P(T[0-9]+[HMS]|[0-9]+D)", q.GetProperty("duplicateDetectionHistoryTimeWindow").GetString());
        Assert.Equal("PT5M", q.GetProperty("lockDuration").GetString());
        Assert.InRange(q.GetProperty("maxDeliveryCount").GetInt32(), 1, 100);
        Assert.True(q.GetProperty("deadLetteringOnMessageExpiration").GetBoolean());
        Assert.False(q.GetProperty("requiresSession").GetBoolean());
    }

    [Fact]
    public void The_queue_dead_letters_one_delivery_after_the_worker_so_the_worker_marks_the_message_failed_first()
    {
        var queue = snapshot.Single("Microsoft.ServiceBus/namespaces/queues").GetProperty("properties");
        var worker = DeployedApps.WrittenSettings(snapshot, DeployedApps.Delivery);

        var workerLimit = int.Parse(worker["MailGateway__DeliveryWorker__MaxDeliveryCount"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(workerLimit + 1, queue.GetProperty("maxDeliveryCount").GetInt32());
    }

    [Fact]
    public void The_API_runs_on_Flex_Consumption_with_dotnet_isolated_10_and_identity_based_host_storage()
    {
        var plan = snapshot.Single("Microsoft.Web/serverfarms");
        Assert.Equal("FC1", plan.GetProperty("sku").GetProperty("name").GetString());
        Assert.Equal("FlexConsumption", plan.GetProperty("sku").GetProperty("tier").GetString());

        var site = snapshot.FunctionApp("api");
        Assert.Equal("UserAssigned", site.GetProperty("identity").GetProperty("type").GetString());
        var config = site.GetProperty("properties").GetProperty("functionAppConfig");
        Assert.Equal("dotnet-isolated", config.GetProperty("runtime").GetProperty("name").GetString());
        Assert.Equal("10.0", config.GetProperty("runtime").GetProperty("version").GetString());
        var deployment = config.GetProperty("deployment").GetProperty("storage").GetProperty("authentication");
        Assert.Equal("UserAssignedIdentity", deployment.GetProperty("type").GetString());

        var settings = snapshot.FunctionAppSettings("api").ToDictionary(s => s.Name, s => s.Value);
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal("api", DeploymentSnapshot.IdentityIn(settings["AzureWebJobsStorage__clientId"]));
        Assert.Equal("api", DeploymentSnapshot.IdentityIn(settings["AZURE_CLIENT_ID"]));
        Assert.Contains("Authorization=AAD", settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], StringComparison.Ordinal);
        Assert.False(settings.ContainsKey("AzureWebJobsStorage"), "AzureWebJobsStorage would be a connection string with a key.");
        // Flex Consumption rejects these: the runtime is functionAppConfig.runtime.
        Assert.False(settings.ContainsKey("FUNCTIONS_WORKER_RUNTIME"));
        Assert.False(settings.ContainsKey("FUNCTIONS_EXTENSION_VERSION"));
    }

    [Fact]
    public void The_Container_Apps_environment_is_in_a_VNet()
    {
        var environment = snapshot.Single("Microsoft.App/managedEnvironments").GetProperty("properties");
        Assert.False(string.IsNullOrEmpty(environment.GetProperty("vnetConfiguration").GetProperty("infrastructureSubnetId").GetString()));
        Assert.False(environment.GetProperty("vnetConfiguration").GetProperty("internal").GetBoolean());
        var subnet = Assert.Single(snapshot.Single("Microsoft.Network/virtualNetworks").GetProperty("properties").GetProperty("subnets").EnumerateArray());
        Assert.Contains(subnet.GetProperty("properties").GetProperty("delegations").EnumerateArray(),
            d => d.GetProperty("properties").GetProperty("serviceName").GetString() == "Microsoft.App/environments");
    }

    [Fact]
    public void The_delivery_worker_scales_from_zero_on_the_queue_with_a_managed_identity()
    {
        var app = snapshot.ContainerApp("delivery");
        var scale = app.GetProperty("properties").GetProperty("template").GetProperty("scale");
        Assert.Equal(0, scale.GetProperty("minReplicas").GetInt32());
        var rule = Assert.Single(scale.GetProperty("rules").EnumerateArray()).GetProperty("custom");
        Assert.Equal("azure-servicebus", rule.GetProperty("type").GetString());
        Assert.False(rule.TryGetProperty("auth", out _), "The scale rule must not authenticate with a connection string secret.");
        var identity = rule.GetProperty("identity").GetString();
        Assert.Equal("delivery-scaler", DeploymentSnapshot.IdentityIn(identity));
        Assert.True(app.GetProperty("identity").GetProperty("userAssignedIdentities").TryGetProperty(identity!, out _),
            "The scaler identity must be assigned to the app.");
        Assert.False(string.IsNullOrEmpty(rule.GetProperty("metadata").GetProperty("queueName").GetString()));
        Assert.False(string.IsNullOrEmpty(rule.GetProperty("metadata").GetProperty("namespace").GetString()));
    }

    [Fact]
    public void The_inbound_listener_exposes_25_and_submission_587_and_465_over_TCP_and_keeps_a_replica()
    {
        var app = snapshot.ContainerApp("inbound").GetProperty("properties");
        var ingress = app.GetProperty("configuration").GetProperty("ingress");
        Assert.True(ingress.GetProperty("external").GetBoolean());
        Assert.Equal("tcp", ingress.GetProperty("transport").GetString());
        Assert.Equal(25, ingress.GetProperty("exposedPort").GetInt32());
        var additional = ingress.GetProperty("additionalPortMappings").EnumerateArray().ToList();
        Assert.Equal([587, 465], additional.Select(a => a.GetProperty("exposedPort").GetInt32()));
        Assert.All(additional, a => Assert.True(a.GetProperty("external").GetBoolean()));
        Assert.True(app.GetProperty("template").GetProperty("scale").GetProperty("minReplicas").GetInt32() >= 1);

        // The app listens where the ingress sends the traffic: inbound on 25's target, submission (the snapshot has a
        // TLS certificate) with STARTTLS on 587's and implicit TLS on 465's.
        var env = snapshot.ContainerEnvironment("inbound").ToDictionary(e => e.Name, e => e.Value);
        static string Target(System.Text.Json.JsonElement mapping) => mapping.GetProperty("targetPort").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(Target(ingress), env["MailGateway__Inbound__Endpoints__0__Port"]);
        Assert.DoesNotContain("MailGateway__Inbound__Endpoints__1__Port", env.Keys);
        Assert.Equal("true", env["MailGateway__Submission__Enabled"]);
        Assert.Equal(Target(additional[0]), env["MailGateway__Submission__Endpoints__0__Port"]);
        Assert.Equal(Target(additional[1]), env["MailGateway__Submission__Endpoints__1__Port"]);
        Assert.Equal("true", env["MailGateway__Submission__Endpoints__1__ImplicitTls"]);
    }

    [Fact]
    public void Container_apps_pull_images_with_their_own_identity()
    {
        foreach (var service in new[] { "delivery", "inbound" })
        {
            var registry = Assert.Single(snapshot.ContainerApp(service).GetProperty("properties").GetProperty("configuration").GetProperty("registries").EnumerateArray());
            Assert.Equal(service, DeploymentSnapshot.IdentityIn(registry.GetProperty("identity").GetString()));
            Assert.False(registry.TryGetProperty("passwordSecretRef", out _));
        }

        var acr = snapshot.Single("Microsoft.ContainerRegistry/registries").GetProperty("properties");
        Assert.False(acr.GetProperty("adminUserEnabled").GetBoolean());
    }

    [Fact]
    public void No_secret_value_is_in_a_setting_and_the_relay_password_is_a_Key_Vault_reference()
    {
        var all = snapshot.FunctionAppSettings("api")
            .Concat(snapshot.ContainerEnvironment("delivery"))
            .Concat(snapshot.ContainerEnvironment("inbound"))
            .ToList();
        Assert.All(all, s => Assert.DoesNotContain(InfraFolder.SampleRelayPassword, s.Value ?? "", StringComparison.Ordinal));
        Assert.All(all, s => Assert.DoesNotContain(InfraFolder.SampleBounceSecret, s.Value ?? "", StringComparison.Ordinal));
        Assert.All(all, s => Assert.DoesNotMatch("(?i)(ConnectionString|AccountKey|SharedAccessKey|InstrumentationKey)$", s.Name));
        Assert.All(all, s => Assert.DoesNotContain("AccountKey=", s.Value ?? "", StringComparison.OrdinalIgnoreCase));
        Assert.All(all, s => Assert.DoesNotContain("SharedAccessKey=", s.Value ?? "", StringComparison.OrdinalIgnoreCase));

        var password = Assert.Single(snapshot.ContainerEnvironment("delivery"), s => s.Name == "MailGateway__Relay__Password");
        Assert.Null(password.Value);
        var secrets = snapshot.ContainerApp("delivery").GetProperty("properties").GetProperty("configuration").GetProperty("secrets").EnumerateArray().ToList();
        var secret = Assert.Single(secrets, s => s.GetProperty("name").GetString() == password.SecretRef);
        Assert.False(secret.TryGetProperty("value", out _), "A container app secret must reference Key Vault, not hold the value.");
        Assert.Contains("/secrets/relay-password", secret.GetProperty("keyVaultUrl").GetString(), StringComparison.Ordinal);
        Assert.Equal("delivery", DeploymentSnapshot.IdentityIn(secret.GetProperty("identity").GetString()));

        // The password goes only to the Key Vault secret, as a secure parameter (which the snapshot never expands).
        Assert.DoesNotContain(snapshot.Resources, r => r.GetRawText().Contains(InfraFolder.SampleRelayPassword, StringComparison.Ordinal));
        Assert.DoesNotContain(snapshot.Resources, r => r.GetRawText().Contains(InfraFolder.SampleBounceSecret, StringComparison.Ordinal));
        var stored = snapshot.Single("Microsoft.KeyVault/vaults/secrets", n => n.EndsWith("/relay-password", StringComparison.Ordinal));
        Assert.StartsWith("[parameters(", stored.GetProperty("properties").GetProperty("value").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_worker_and_the_listener_share_one_bounce_domain_and_one_VERP_key_from_Key_Vault()
    {
        // The worker signs the VERP senders, the listener checks them: the same domain and the same Key Vault secret.
        var stored = snapshot.Single("Microsoft.KeyVault/vaults/secrets", n => n.EndsWith("/bounce-secret", StringComparison.Ordinal));
        Assert.StartsWith("[parameters(", stored.GetProperty("properties").GetProperty("value").GetString(), StringComparison.Ordinal);
        var references = new List<string>();
        foreach (var service in new[] { "delivery", "inbound" })
        {
            var env = snapshot.ContainerEnvironment(service);
            Assert.Equal("bounces.example.com", Assert.Single(env, s => s.Name == "MailGateway__Bounces__Domain").Value);
            var key = Assert.Single(env, s => s.Name == "MailGateway__Bounces__Secret");
            Assert.Null(key.Value);
            var secret = Assert.Single(
                snapshot.ContainerApp(service).GetProperty("properties").GetProperty("configuration").GetProperty("secrets").EnumerateArray(),
                s => s.GetProperty("name").GetString() == key.SecretRef);
            Assert.False(secret.TryGetProperty("value", out _), "A container app secret must reference Key Vault, not hold the value.");
            Assert.Equal(service, DeploymentSnapshot.IdentityIn(secret.GetProperty("identity").GetString()));
            references.Add(secret.GetProperty("keyVaultUrl").GetString()!);
        }

        Assert.Single(references.Distinct(StringComparer.Ordinal));
        Assert.Contains($"/vaults/{stored.GetProperty("name").GetString()!.Split('/')[0]}/secrets/bounce-secret'", references[0], StringComparison.Ordinal);

        // The listener writes bounced statuses and suppression entries: it gets the Table endpoint and both tables.
        var inbound = snapshot.ContainerEnvironment("inbound").ToDictionary(e => e.Name, e => e.Value);
        Assert.Contains("MailGateway__AzureStorage__TableServiceUri", inbound.Keys);
        Assert.Contains("MailGateway__AzureStorage__StatusTable", inbound.Keys);
        Assert.Contains("MailGateway__AzureStorage__SuppressionTable", inbound.Keys);
        // A bounced recipient is a status change with an event: its entry goes to the event feed as well.
        Assert.Contains("MailGateway__AzureStorage__EventFeedTable", inbound.Keys);
    }

    [Fact]
    public void Key_Vaults_use_RBAC_and_purge_protection()
    {
        var vaults = snapshot.OfType("Microsoft.KeyVault/vaults");
        Assert.Equal(4, vaults.Count);
        Assert.All(vaults, v =>
        {
            var p = v.GetProperty("properties");
            Assert.True(p.GetProperty("enableRbacAuthorization").GetBoolean());
            Assert.True(p.GetProperty("enablePurgeProtection").GetBoolean());
        });
    }

    [Fact]
    public void Every_service_sends_diagnostics_to_Log_Analytics()
    {
        var targets = snapshot.OfType("Microsoft.Insights/diagnosticSettings")
            .Select(d =>
            {
                Assert.Contains("outputs.workspaceId", d.GetProperty("properties").GetProperty("workspaceId").GetString(), StringComparison.Ordinal);
                return ResourceTypeOf(ScopeOf(d.GetProperty("id").GetString()!, "Microsoft.Insights/diagnosticSettings"));
            })
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal(
            [
                "Microsoft.App/managedEnvironments",
                "Microsoft.ContainerRegistry/registries",
                "Microsoft.KeyVault/vaults",
                "Microsoft.KeyVault/vaults",
                "Microsoft.KeyVault/vaults",
                "Microsoft.KeyVault/vaults",
                "Microsoft.ServiceBus/namespaces",
                "Microsoft.Storage/storageAccounts/blobServices",
                "Microsoft.Storage/storageAccounts/tableServices",
                "Microsoft.Web/sites",
            ],
            targets);
    }

    [Fact]
    public void Role_assignments_are_least_privilege_and_named_with_guids()
    {
        var actual = snapshot.OfType("Microsoft.Authorization/roleAssignments")
            .Select(r =>
            {
                Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", r.GetProperty("name").GetString());
                var properties = r.GetProperty("properties");
                var roleId = properties.GetProperty("roleDefinitionId").GetString()!.Split('/')[^1];
                Assert.True(RoleNames.TryGetValue(roleId, out var role), $"Unexpected role definition {roleId}.");
                var principal = properties.GetProperty("principalId").GetString();
                var who = principal == InfraFolder.SamplePrincipalId ? "deployer" : DeploymentSnapshot.IdentityIn(principal);
                Assert.NotNull(who);
                return $"{who}: {role} @ {Describe(ScopeOf(r.GetProperty("id").GetString()!, "Microsoft.Authorization/roleAssignments"))}";
            })
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Equal(
            new[]
            {
                "api: Azure Service Bus Data Receiver @ Microsoft.ServiceBus/namespaces/queues:outbound",
                "dashboard: AcrPull @ Microsoft.ContainerRegistry/registries",
                "dashboard: Azure Service Bus Data Owner @ Microsoft.ServiceBus/namespaces/queues:outbound",
                "dashboard: Azure Service Bus Data Receiver @ Microsoft.ServiceBus/namespaces/queues:outbound",
                "dashboard: Azure Service Bus Data Sender @ Microsoft.ServiceBus/namespaces/queues:outbound",
                "dashboard: Monitoring Metrics Publisher @ Microsoft.Insights/components",
                "dashboard: Storage Blob Data Contributor @ Microsoft.Storage/storageAccounts/blobServices/containers:outbound",
                "dashboard: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:EventFeed",
                "dashboard: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:MessageStatus",
                "api: Azure Service Bus Data Sender @ Microsoft.ServiceBus/namespaces/queues:outbound",
                "api: Key Vault Secrets User @ Microsoft.KeyVault/vaults",
                "api: Monitoring Metrics Publisher @ Microsoft.Insights/components",
                "api: Storage Blob Data Contributor @ Microsoft.Storage/storageAccounts",
                "api: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:EventFeed",
                "api: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:IdempotencyKeys",
                "api: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:MessageStatus",
                "api: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:Suppressions",
                "api: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:Webhooks",
                "delivery-scaler: Azure Service Bus Data Owner @ Microsoft.ServiceBus/namespaces/queues:outbound",
                "delivery: AcrPull @ Microsoft.ContainerRegistry/registries",
                "delivery: Azure Service Bus Data Receiver @ Microsoft.ServiceBus/namespaces/queues:outbound",
                "delivery: Azure Service Bus Data Sender @ Microsoft.ServiceBus/namespaces/queues:outbound",
                "delivery: Key Vault Secrets User @ Microsoft.KeyVault/vaults/secrets:bounce-secret",
                "delivery: Key Vault Secrets User @ Microsoft.KeyVault/vaults/secrets:relay-password",
                "delivery: Monitoring Metrics Publisher @ Microsoft.Insights/components",
                "delivery: Storage Blob Data Contributor @ Microsoft.Storage/storageAccounts/blobServices/containers:outbound",
                "delivery: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:EventFeed",
                "delivery: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:IdempotencyKeys",
                "delivery: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:MessageStatus",
                "delivery: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:Suppressions",
                "delivery: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:Webhooks",
                "deployer: Key Vault Certificates Officer @ Microsoft.KeyVault/vaults",
                "deployer: Key Vault Secrets Officer @ Microsoft.KeyVault/vaults",
                "inbound: AcrPull @ Microsoft.ContainerRegistry/registries",
                "inbound: Azure Service Bus Data Sender @ Microsoft.ServiceBus/namespaces/queues:outbound",
                "inbound: Key Vault Certificate User @ Microsoft.KeyVault/vaults",
                "inbound: Key Vault Secrets User @ Microsoft.KeyVault/vaults",
                "inbound: Key Vault Secrets User @ Microsoft.KeyVault/vaults/secrets:bounce-secret",
                "inbound: Monitoring Metrics Publisher @ Microsoft.Insights/components",
                "inbound: Storage Blob Data Contributor @ Microsoft.Storage/storageAccounts/blobServices/containers:inbound",
                "inbound: Storage Blob Data Contributor @ Microsoft.Storage/storageAccounts/blobServices/containers:outbound",
                "inbound: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:EventFeed",
                "inbound: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:IdempotencyKeys",
                "inbound: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:MessageStatus",
                "inbound: Storage Table Data Contributor @ Microsoft.Storage/storageAccounts/tableServices/tables:Suppressions",
            }.Order(StringComparer.Ordinal),
            actual);
    }

    [Fact]
    public void The_inbound_certificate_vault_holds_no_other_secret()
    {
        // The inbound identity may read every certificate of its vault; the relay password and the VERP key live in
        // vaults of their own, and of those the listener may read the VERP key only (on that secret, not its vault).
        var secrets = snapshot.OfType("Microsoft.KeyVault/vaults/secrets").Select(s => s.GetProperty("name").GetString()!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, secrets.Count);
        var vaultOf = secrets.ToDictionary(n => n.Split('/')[1], n => n.Split('/')[0]);
        Assert.Equal(["bounce-secret", "relay-password"], vaultOf.Keys.Order(StringComparer.Ordinal));
        Assert.NotEqual(vaultOf["bounce-secret"], vaultOf["relay-password"]);
        var inboundVaultRoles = snapshot.OfType("Microsoft.Authorization/roleAssignments")
            .Where(r => DeploymentSnapshot.IdentityIn(r.GetProperty("properties").GetProperty("principalId").GetString()) == "inbound"
                        && r.GetProperty("id").GetString()!.Contains("Microsoft.KeyVault/vaults/", StringComparison.Ordinal))
            .Select(r => r.GetProperty("id").GetString()!)
            .ToList();
        Assert.Equal(3, inboundVaultRoles.Count);
        Assert.All(inboundVaultRoles, id => Assert.DoesNotContain($"/vaults/{vaultOf["relay-password"]}/", id, StringComparison.Ordinal));
        Assert.Single(inboundVaultRoles, id => id.Contains($"/vaults/{vaultOf["bounce-secret"]}/secrets/bounce-secret/", StringComparison.Ordinal));
        Assert.DoesNotContain(inboundVaultRoles, id => id.Contains($"/vaults/{vaultOf["bounce-secret"]}/providers/", StringComparison.Ordinal));
    }

    [Fact]
    public void The_DKIM_vault_is_its_own_and_read_only_by_the_hosts_that_sign()
    {
        // The API and submission sign at accept; the delivery worker sends stored bytes and never sees a private key.
        var vaultRoles = snapshot.OfType("Microsoft.Authorization/roleAssignments")
            .Where(r => r.GetProperty("id").GetString()!.Contains("/vaults/kv-dkim-", StringComparison.Ordinal))
            .Select(r => (Who: DeploymentSnapshot.IdentityIn(r.GetProperty("properties").GetProperty("principalId").GetString())
                               ?? (r.GetProperty("properties").GetProperty("principalId").GetString() == InfraFolder.SamplePrincipalId ? "deployer" : "?"),
                          Role: RoleNames[r.GetProperty("properties").GetProperty("roleDefinitionId").GetString()!.Split('/')[^1]]))
            .Order()
            .ToList();

        Assert.Equal(
            [("api", "Key Vault Secrets User"), ("deployer", "Key Vault Secrets Officer"), ("inbound", "Key Vault Secrets User")],
            vaultRoles);
        Assert.DoesNotContain(snapshot.OfType("Microsoft.KeyVault/vaults/secrets"), s => s.GetProperty("name").GetString()!.StartsWith("kv-dkim-", StringComparison.Ordinal));
    }

    /// <summary>The resource ID an extension resource (role assignment, diagnostic setting) is attached to.</summary>
    private static string ScopeOf(string id, string extensionType)
    {
        var marker = $"/providers/{extensionType}/";
        var index = id.IndexOf(marker, StringComparison.OrdinalIgnoreCase);
        Assert.True(index > 0, $"{id} is not a {extensionType}.");
        return id[..index];
    }

    /// <summary><c>Microsoft.Storage/storageAccounts/blobServices</c> for a blob service's ID.</summary>
    private static string ResourceTypeOf(string resourceId)
    {
        var match = ResourceIdPattern().Match(resourceId);
        Assert.True(match.Success, $"{resourceId} is not a resource in a resource group.");
        var segments = match.Groups["path"].Value.Split('/');
        var types = segments.Where((_, i) => i % 2 == 0).ToList();
        return match.Groups["provider"].Value + "/" + string.Join('/', types);
    }

    /// <summary>The type of a scope and, below the top-level resource, the name of the scoped child.</summary>
    private static string Describe(string resourceId)
    {
        var match = ResourceIdPattern().Match(resourceId);
        Assert.True(match.Success, $"Role assigned at {resourceId}: a resource group or subscription scope is too broad.");
        var segments = match.Groups["path"].Value.Split('/');
        var types = segments.Where((_, i) => i % 2 == 0).Where(t => t != "default").ToList();
        var type = match.Groups["provider"].Value + "/" + string.Join('/', types);
        return segments.Length > 2 ? $"{type}:{segments[^1]}" : type;
    }

    [GeneratedRegex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/(?<provider>[^/]+)/(?<path>.+)$")]
    private static partial Regex ResourceIdPattern();
}
