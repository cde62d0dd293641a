/*
 * config_keys: THE table of configuration keys. Every key is one row:
 *
 *   ORC_CFG_KEY(type, Name, default, min, max, flags, synonym, choices, help)
 *
 * type     BOOL (bool), INT (int64_t), STR (char *), LIST (struct orc_strlist),
 *          MAP (struct orc_strmap); Name is both the JSON key and the field of
 *          struct orc_config.
 * default  the default as text, parsed like an environment variable
 *          ("true", "5", "a,b" for lists, "" for an empty list or map).
 * min/max  bounds of INT keys (0, 0 for other types).
 * flags    ORC_CFG_SECRET: masked in dumps, never echoed in messages.
 *          ORC_CFG_UNSUPPORTED: orchestrator has the key, we do not implement
 *          it: accepted only at its default value (so old configs that carry
 *          defaults still load), refused otherwise at load ("not supported").
 *          Implementing a key = removing the flag from its row.
 * synonym  an older name of the same key (or NULL).
 * choices  for STR keys, the allowed values separated by '|' (or NULL for any);
 *          matched case-insensitively and stored in the spelling given here.
 *
 * ORC_CFG_SECTION(title) starts a group in the generated documentation.
 *
 * This file has no include guard on purpose: it is included by config.h (to
 * declare the struct fields and the key indexes), config.c (to build the
 * table) and config_dump.c (for the documentation order), each time with its
 * own definition of the two macros. Rows are laid out by hand.
 */

/* clang-format off */
ORC_CFG_SECTION("Logging")
ORC_CFG_KEY(STR, LogLevel, "info", 0, 0, 0, NULL, "debug|info|notice|warning|error",
            "minimum level of the log lines written")
ORC_CFG_KEY(STR, LogFile, "", 0, 0, 0, NULL, NULL,
            "file the log is appended to, besides stderr; empty: stderr only")
ORC_CFG_KEY(BOOL, Debug, "false", 0, 0, 0, NULL, NULL,
            "orchestrator's debug switch: LogLevel becomes debug unless LogLevel is set")
ORC_CFG_KEY(BOOL, EnableSyslog, "false", 0, 0, 0, NULL, NULL,
            "also send every log line to syslog (facility daemon, ident orchestrator)")

ORC_CFG_SECTION("HTTP service")
ORC_CFG_KEY(STR, ListenAddress, "127.0.0.1:3000", 0, 0, 0, NULL, NULL,
            "HTTP bind address, [host]:port; loopback by default (orchestrator: \":3000\", every "
            "interface); \":port\" and 0.0.0.0 mean every interface")
ORC_CFG_KEY(STR, ListenSocket, "", 0, 0, 0, NULL, NULL,
            "unix socket path for HTTP; when set, TCP is not used")
ORC_CFG_KEY(STR, HTTPAdvertise, "", 0, 0, 0, NULL, NULL,
            "URL (scheme://host:port, no path) this node advertises as leader URI under raft; "
            "\"\": from AdvertiseAddr when set")
ORC_CFG_KEY(STR, URLPrefix, "", 0, 0, 0, NULL, NULL,
            "path prefix of every route; normalized to \"/x\" or \"\"")
ORC_CFG_KEY(STR, StatusEndpoint, "/api/status", 0, 0, ORC_CFG_UNSUPPORTED, NULL, NULL, "health route path")
ORC_CFG_KEY(INT, HTTPRequestTimeoutSeconds, "10", 1, 3600, 0, NULL, NULL,
            "timeout of requests a follower forwards to the leader")
ORC_CFG_KEY(STR, WebMessage, "", 0, 0, ORC_CFG_UNSUPPORTED, NULL, NULL, "message shown on every page of the web UI")
ORC_CFG_KEY(STR, RemoveTextFromHostnameDisplay, "", 0, 0, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "text removed from host names shown in the web UI")
ORC_CFG_KEY(BOOL, UseSSL, "false", 0, 0, 0, NULL, NULL,
            "serve HTTPS (TLS 1.2+) with SSLCertFile and SSLPrivateKeyFile; followers reach an "
            "https:// leader verifying it against SSLCAFile (else the system CAs)")
ORC_CFG_KEY(BOOL, UseMutualTLS, "false", 0, 0, 0, NULL, NULL,
            "with UseSSL: refuse clients without a certificate signed by SSLCAFile (required); "
            "followers and the CLI present SSLCertFile/SSLPrivateKeyFile to the leader")
ORC_CFG_KEY(STR, SSLCertFile, "", 0, 0, 0, NULL, NULL,
            "HTTPS certificate chain (PEM); also the client certificate under UseMutualTLS")
ORC_CFG_KEY(STR, SSLPrivateKeyFile, "", 0, 0, 0, NULL, NULL, "HTTPS private key file (PEM)")
ORC_CFG_KEY(STR, SSLCAFile, "", 0, 0, 0, NULL, NULL,
            "CA bundle (PEM) that client certificates (UseMutualTLS) and the leader's "
            "certificate (followers, CLI) are verified against")
ORC_CFG_KEY(BOOL, SSLSkipVerify, "false", 0, 0, 0, NULL, NULL,
            "followers and the CLI do not verify the leader's certificate (testing only)")
ORC_CFG_KEY(LIST, SSLValidOUs, "", 0, 0, 0, NULL, NULL,
            "with UseMutualTLS: a client certificate's subject must carry one of these "
            "organizational units (OU); empty: any certificate signed by SSLCAFile")
ORC_CFG_KEY(INT, HTTPMaxConnectionsPerClient, "64", 1, 10000, 0, NULL, NULL,
            "open HTTP connections allowed per client address (raise it behind a reverse proxy)")
ORC_CFG_KEY(INT, HTTPConnectionTimeoutSeconds, "15", 1, 3600, 0, NULL, NULL,
            "an HTTP connection idle (or sending nothing) this long is closed")
ORC_CFG_KEY(BOOL, HTTPAllowUnauthenticatedRemoteWrites, "false", 0, 0, 0, NULL, NULL,
            "allow starting with AuthenticationMethod \"\" on a non-loopback ListenAddress, "
            "where anybody who reaches the port may fail over or reconfigure the topology "
            "(logged as a warning at start); off: the service refuses to start so")
ORC_CFG_KEY(BOOL, HTTPMetricsWithoutAuth, "false", 0, 0, 0, NULL, NULL,
            "serve /metrics without authentication (it names clusters and their aliases); "
            "off: /metrics needs the same credentials as the read routes")

ORC_CFG_SECTION("Authentication")
ORC_CFG_KEY(STR, AuthenticationMethod, "", 0, 0, 0, NULL, "|basic|multi|proxy|!token|!oauth",
            "\"\" (none: everybody may read and write), basic, multi (basic, plus user "
            "\"readonly\" with any password for reads) or proxy (AuthUserHeader); token and "
            "oauth are not supported and refused at load")
ORC_CFG_KEY(STR, HTTPAuthUser, "", 0, 0, 0, NULL, NULL,
            "user for basic and multi auth (required by them)")
ORC_CFG_KEY(STR, HTTPAuthPassword, "", 0, 0, ORC_CFG_SECRET, NULL, NULL,
            "password for basic and multi auth (required by them)")
ORC_CFG_KEY(STR, AuthUserHeader, "X-Forwarded-User", 0, 0, 0, NULL, NULL,
            "with proxy auth: the header the reverse proxy sets to the authenticated user; a "
            "request without it is refused (401) except on the health routes")
ORC_CFG_KEY(LIST, PowerAuthUsers, "*", 0, 0, 0, NULL, NULL,
            "with proxy auth: users allowed to change things (\"*\": every user the proxy "
            "names); the others may only read")
ORC_CFG_KEY(LIST, PowerAuthGroups, "", 0, 0, 0, NULL, NULL,
            "with proxy auth: users who belong to one of these unix groups (of this host) may "
            "change things too")
ORC_CFG_KEY(BOOL, ReadOnly, "false", 0, 0, 0, NULL, NULL, "refuse every change through the API")

ORC_CFG_SECTION("Topology servers")
ORC_CFG_KEY(STR, MySQLTopologyUser, "", 0, 0, 0, NULL, NULL,
            "user orchestrator connects to the managed servers with")
ORC_CFG_KEY(STR, MySQLTopologyPassword, "", 0, 0, ORC_CFG_SECRET, NULL, NULL,
            "password of MySQLTopologyUser")
ORC_CFG_KEY(STR, MySQLTopologyCredentialsConfigFile, "", 0, 0, 0, NULL, NULL,
            "my.cnf-style file whose [client] user/password override the two keys above")
ORC_CFG_KEY(BOOL, MySQLTopologyUseMutualTLS, "false", 0, 0, 0, NULL, NULL,
            "every connection to the managed servers uses TLS (refused without it), presenting "
            "MySQLTopologySSLCertFile/PrivateKeyFile when set")
ORC_CFG_KEY(BOOL, MySQLTopologyUseMixedTLS, "true", 0, 0, 0, NULL, NULL,
            "without UseMutualTLS: connect in plain text, and again with TLS to a server that "
            "refuses plain text (errors 3159 and 1045)")
ORC_CFG_KEY(STR, MySQLTopologySSLCertFile, "", 0, 0, 0, NULL, NULL,
            "topology TLS client certificate (PEM; with MySQLTopologySSLPrivateKeyFile)")
ORC_CFG_KEY(STR, MySQLTopologySSLPrivateKeyFile, "", 0, 0, 0, NULL, NULL,
            "topology TLS private key (PEM)")
ORC_CFG_KEY(STR, MySQLTopologySSLCAFile, "", 0, 0, 0, NULL, NULL,
            "CA bundle the managed servers' certificates are verified against (empty: the "
            "system CAs)")
ORC_CFG_KEY(BOOL, MySQLTopologySSLSkipVerify, "false", 0, 0, 0, NULL, NULL,
            "do not verify the managed servers' certificates and host names (encryption only)")
ORC_CFG_KEY(INT, MySQLConnectTimeoutSeconds, "2", 1, 3600, 0, NULL, NULL,
            "connect timeout to the managed servers")
ORC_CFG_KEY(INT, MySQLDiscoveryReadTimeoutSeconds, "10", 1, 86400, 0, NULL, NULL,
            "read timeout of discovery queries")
ORC_CFG_KEY(INT, MySQLTopologyReadTimeoutSeconds, "600", 1, 86400, 0, NULL, NULL,
            "read timeout of operations (relocations, promotions)")
ORC_CFG_KEY(INT, MySQLConnectionLifetimeSeconds, "0", 0, ORC_CFG_BIG, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "close pooled connections older than this; 0: never")
ORC_CFG_KEY(INT, DefaultInstancePort, "3306", 1, 65535, 0, NULL, NULL,
            "port assumed when an instance is given without one")

ORC_CFG_SECTION("Backend store")
ORC_CFG_KEY(STR, BackendDB, "", 0, 0, 0, NULL, NULL,
            "sqlite or mysql; \"\": mysql when MySQLOrchestratorHost is set, else sqlite")
ORC_CFG_KEY(STR, SQLite3DataFile, "/var/lib/orchestrator/orchestrator.sqlite3", 0, 0, 0, NULL, NULL,
            "database file of the sqlite backend")
ORC_CFG_KEY(STR, MySQLOrchestratorHost, "", 0, 0, 0, NULL, NULL, "host of the mysql backend")
ORC_CFG_KEY(INT, MySQLOrchestratorPort, "3306", 1, 65535, 0, NULL, NULL,
            "port of the mysql backend")
ORC_CFG_KEY(STR, MySQLOrchestratorDatabase, "", 0, 0, 0, NULL, NULL, "schema of the mysql backend")
ORC_CFG_KEY(STR, MySQLOrchestratorUser, "", 0, 0, 0, NULL, NULL, "user of the mysql backend")
ORC_CFG_KEY(STR, MySQLOrchestratorPassword, "", 0, 0, ORC_CFG_SECRET, NULL, NULL,
            "password of the mysql backend")
ORC_CFG_KEY(STR, MySQLOrchestratorCredentialsConfigFile, "", 0, 0, 0, NULL, NULL,
            "my.cnf-style file whose [client] user/password override the two keys above")
ORC_CFG_KEY(INT, MySQLOrchestratorMaxPoolConnections, "128", 1, 10000, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "connection pool size to the mysql backend")
ORC_CFG_KEY(INT, MySQLOrchestratorReadTimeoutSeconds, "30", 1, 86400, 0, NULL, NULL,
            "read timeout of backend queries")
ORC_CFG_KEY(BOOL, MySQLOrchestratorRejectReadOnly, "false", 0, 0, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "reconnect when the backend server turns read-only")
ORC_CFG_KEY(BOOL, MySQLOrchestratorUseMutualTLS, "false", 0, 0, 0, NULL, NULL,
            "connect to the mysql backend with TLS only, presenting "
            "MySQLOrchestratorSSLCertFile/PrivateKeyFile when set; also on when "
            "MySQLOrchestratorSSLCAFile is set")
ORC_CFG_KEY(STR, MySQLOrchestratorSSLCertFile, "", 0, 0, 0, NULL, NULL,
            "backend TLS client certificate (PEM; with MySQLOrchestratorSSLPrivateKeyFile)")
ORC_CFG_KEY(STR, MySQLOrchestratorSSLPrivateKeyFile, "", 0, 0, 0, NULL, NULL,
            "backend TLS private key (PEM)")
ORC_CFG_KEY(STR, MySQLOrchestratorSSLCAFile, "", 0, 0, 0, NULL, NULL,
            "CA bundle the backend server's certificate is verified against; setting it turns "
            "backend TLS on")
ORC_CFG_KEY(BOOL, MySQLOrchestratorSSLSkipVerify, "false", 0, 0, 0, NULL, NULL,
            "do not verify the backend server's certificate and host name (encryption only)")
ORC_CFG_KEY(BOOL, SkipOrchestratorDatabaseUpdate, "false", 0, 0, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "do not deploy or migrate the backend schema")
ORC_CFG_KEY(BOOL, PanicIfDifferentDatabaseDeploy, "false", 0, 0, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "refuse to start when the schema was deployed by another version")

ORC_CFG_SECTION("Discovery")
ORC_CFG_KEY(INT, InstancePollSeconds, "5", 1, 3600, 0, NULL, NULL,
            "interval between two probes of one instance")
ORC_CFG_KEY(INT, ReasonableInstanceCheckSeconds, "1", 1, 3600, 0, NULL, NULL,
            "slack added to InstancePollSeconds before a check counts as outdated")
ORC_CFG_KEY(LIST, DiscoverySeeds, "", 0, 0, 0, NULL, NULL,
            "host:port instances discovered once at startup")
ORC_CFG_KEY(BOOL, DiscoverByShowSlaveHosts, "true", 0, 0, 0, NULL, NULL,
            "find replicas with SHOW SLAVE HOSTS (report_host:report_port) before the "
            "processlist; on by default here (orchestrator: off) since it names each "
            "replica's own port")
ORC_CFG_KEY(INT, DiscoveryMaxConcurrency, "300", 1, 10000, 0, NULL, NULL,
            "maximum number of probes running at once")
ORC_CFG_KEY(INT, DiscoveryWorkerThreads, "0", 0, 1024, 0, NULL, NULL,
            "probe threads; 0: derived from DiscoveryMaxConcurrency, capped at 64")
ORC_CFG_KEY(INT, DiscoveryQueueCapacity, "100000", 1, 100000000, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "size of the discovery queue")
ORC_CFG_KEY(LIST, DiscoveryIgnoreHostnameFilters, "", 0, 0, 0, NULL, NULL,
            "regexes (exact match for an IP) of host:port never discovered")
ORC_CFG_KEY(LIST, DiscoveryIgnoreReplicaHostnameFilters, "", 0, 0, 0, NULL, NULL,
            "regexes of replicas not followed from their master")
ORC_CFG_KEY(LIST, DiscoveryIgnoreMasterHostnameFilters, "", 0, 0, 0, NULL, NULL,
            "regexes of masters not followed from their replicas")
ORC_CFG_KEY(INT, UnseenInstanceForgetHours, "240", 1, ORC_CFG_BIG, 0, NULL, NULL,
            "forget instances not seen for this long")
ORC_CFG_KEY(INT, SnapshotTopologiesIntervalHours, "0", 0, ORC_CFG_BIG, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "keep a snapshot of the topologies this often; 0: never")
ORC_CFG_KEY(BOOL, SkipMaxScaleCheck, "true", 0, 0, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "do not check whether an instance is a MaxScale binlog server")
ORC_CFG_KEY(BOOL, BufferInstanceWrites, "false", 0, 0, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "write probe results to the backend in batches")
ORC_CFG_KEY(INT, InstanceWriteBufferSize, "100", 1, 100000, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "maximum rows of one batched write")
ORC_CFG_KEY(INT, InstanceFlushIntervalMilliseconds, "100", 1, 60000, 0, NULL, NULL,
            "maximum delay of a batched write")
ORC_CFG_KEY(STR, HostnameResolveMethod, "default", 0, 0, ORC_CFG_UNSUPPORTED, NULL, "none|default|cname|ip",
            "how host names are resolved: none/default (unchanged) are accepted; cname and ip "
            "are not supported")
ORC_CFG_KEY(STR, MySQLHostnameResolveMethod, "@@hostname", 0, 0, ORC_CFG_UNSUPPORTED, NULL,
            "|none|@@hostname|@@report_host",
            "what an instance calls itself; instances are known by the address they were found "
            "at (none); @@report_host is not supported")
ORC_CFG_KEY(STR, RejectHostnameResolvePattern, "", 0, 0, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "regex of resolved names that are rejected")
ORC_CFG_KEY(INT, ExpiryHostnameResolvesMinutes, "60", 1, ORC_CFG_BIG, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "how long a name resolution is cached")
ORC_CFG_KEY(STR, ReplicationLagQuery, "", 0, 0, 0, "SlaveLagQuery", NULL,
            "custom lag query returning one row with one number (seconds)")
ORC_CFG_KEY(STR, ReplicationCredentialsQuery, "", 0, 0, 0, NULL, NULL,
            "query returning user, password, ca, cert, key used to repoint replicas")
ORC_CFG_KEY(STR, DataCenterPattern, "", 0, 0, 0, NULL, NULL,
            "regex with one group extracting the data center from the host name")
ORC_CFG_KEY(STR, RegionPattern, "", 0, 0, 0, NULL, NULL,
            "regex with one group extracting the region from the host name")
ORC_CFG_KEY(STR, PhysicalEnvironmentPattern, "", 0, 0, 0, NULL, NULL,
            "regex with one group extracting the environment from the host name")
ORC_CFG_KEY(STR, DetectDataCenterQuery, "", 0, 0, 0, NULL, NULL,
            "query giving the data center; overrides DataCenterPattern")
ORC_CFG_KEY(STR, DetectRegionQuery, "", 0, 0, 0, NULL, NULL,
            "query giving the region; overrides RegionPattern")
ORC_CFG_KEY(STR, DetectPhysicalEnvironmentQuery, "", 0, 0, 0, NULL, NULL,
            "query giving the environment; overrides PhysicalEnvironmentPattern")
ORC_CFG_KEY(STR, DetectClusterAliasQuery, "", 0, 0, 0, NULL, NULL,
            "query run on masters giving the cluster alias")
ORC_CFG_KEY(STR, DetectClusterDomainQuery, "", 0, 0, 0, NULL, NULL,
            "query run on masters giving the cluster domain name")
ORC_CFG_KEY(STR, DetectInstanceAliasQuery, "", 0, 0, 0, NULL, NULL,
            "query giving the instance alias")
ORC_CFG_KEY(STR, DetectPromotionRuleQuery, "", 0, 0, 0, NULL, NULL,
            "query giving the promotion rule (must, prefer, neutral, prefer_not, must_not)")
ORC_CFG_KEY(STR, DetectSemiSyncEnforcedQuery, "", 0, 0, 0, NULL, NULL,
            "query giving the semi-sync priority of a replica")
ORC_CFG_KEY(MAP, ClusterNameToAlias, "", 0, 0, 0, NULL, NULL,
            "cluster name regex -> alias, used when no alias was detected")
ORC_CFG_KEY(INT, ReasonableReplicationLagSeconds, "10", 1, ORC_CFG_BIG, 0, NULL, NULL,
            "replicas lagging more than this count as lagging")
ORC_CFG_KEY(INT, ReasonableMaintenanceReplicationLagSeconds, "20", 0, ORC_CFG_BIG, 0, NULL, NULL,
            "moves and graceful takeover refuse replicas lagging more than this")
ORC_CFG_KEY(INT, CandidateInstanceExpireMinutes, "60", 1, ORC_CFG_BIG, 0, NULL, NULL,
            "registered candidates expire after this time")
ORC_CFG_KEY(LIST, ProblemIgnoreHostnameFilters, "", 0, 0, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "regexes of hosts never listed as problems")
ORC_CFG_KEY(BOOL, UseSuperReadOnly, "false", 0, 0, 0, NULL, NULL,
            "set super_read_only along with read_only")
ORC_CFG_KEY(BOOL, VerifyReplicationFilters, "false", 0, 0, 0, NULL, NULL,
            "refuse moves between servers with different replication filters")

ORC_CFG_SECTION("Audit")
ORC_CFG_KEY(STR, AuditLogFile, "", 0, 0, ORC_CFG_UNSUPPORTED, NULL, NULL, "file audit entries are appended to")
ORC_CFG_KEY(BOOL, AuditToSyslog, "false", 0, 0, ORC_CFG_UNSUPPORTED, NULL, NULL, "also send audit entries to syslog")
ORC_CFG_KEY(BOOL, AuditToBackendDB, "true", 0, 0, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "audit entries are always written to the backend (replicated); false is refused")
ORC_CFG_KEY(INT, AuditPurgeDays, "7", 0, ORC_CFG_BIG, 0, NULL, NULL,
            "audit entries older than this are purged")

ORC_CFG_SECTION("Failure detection and recovery")
ORC_CFG_KEY(INT, RecoveryPeriodBlockSeconds, "3600", 0, ORC_CFG_BIG, 0, NULL, NULL,
            "anti-flapping: no second automated recovery of a cluster within this time")
ORC_CFG_KEY(INT, RecoveryPeriodBlockMinutes, "60", 0, ORC_CFG_BIG, 0, NULL, NULL,
            "older form of RecoveryPeriodBlockSeconds, used when only it is set")
ORC_CFG_KEY(INT, FailureDetectionPeriodBlockMinutes, "60", 0, ORC_CFG_BIG, 0, NULL, NULL,
            "a detection is not registered again (hooks do not fire again) within this time")
ORC_CFG_KEY(BOOL, ExpectFailureAnalysisConcensus, "true", 0, 0, 0, NULL, NULL,
            "with 3 or more raft nodes, act only on failures a quorum of nodes confirms")
ORC_CFG_KEY(BOOL, ReduceReplicationAnalysisCount, "true", 0, 0, 0, NULL, NULL,
            "analysis returns only instances with something to report")
ORC_CFG_KEY(LIST, RecoveryIgnoreHostnameFilters, "", 0, 0, 0, NULL, NULL,
            "regexes of hosts analysis skips entirely")
ORC_CFG_KEY(LIST, RecoverMasterClusterFilters, "", 0, 0, 0, NULL, NULL,
            "clusters whose master is recovered automatically (*, regex, alias=, alias~=)")
ORC_CFG_KEY(LIST, RecoverIntermediateMasterClusterFilters, "", 0, 0, 0, NULL, NULL,
            "clusters whose intermediate masters are recovered automatically")
ORC_CFG_KEY(LIST, PromotionIgnoreHostnameFilters, "", 0, 0, 0, NULL, NULL,
            "regexes of hosts never promoted (as must_not)")
ORC_CFG_KEY(BOOL, ApplyMySQLPromotionAfterMasterFailover, "true", 0, 0, 0, NULL, NULL,
            "RESET SLAVE ALL and read_only=0 on the promoted master")
ORC_CFG_KEY(BOOL, PreventCrossDataCenterMasterFailover, "false", 0, 0, 0, NULL, NULL,
            "cancel a promotion to another data center")
ORC_CFG_KEY(BOOL, PreventCrossRegionMasterFailover, "false", 0, 0, 0, NULL, NULL,
            "cancel a promotion to another region")
ORC_CFG_KEY(INT, FailMasterPromotionOnLagMinutes, "0", 0, ORC_CFG_BIG, 0, NULL, NULL,
            "cancel a promotion when the candidate lags this much; 0: off")
ORC_CFG_KEY(BOOL, FailMasterPromotionIfSQLThreadNotUpToDate, "false", 0, 0, 0, NULL, NULL,
            "cancel a promotion when the candidate has not applied its relay logs")
ORC_CFG_KEY(BOOL, DelayMasterPromotionIfSQLThreadNotUpToDate, "false", 0, 0, 0, NULL, NULL,
            "wait for the candidate to apply its relay logs (excludes the key above)")
ORC_CFG_KEY(BOOL, DetachLostReplicasAfterMasterFailover, "true", 0, 0, 0,
            "DetachLostSlavesAfterMasterFailover", NULL,
            "detach the master host of replicas lost in a failover")
ORC_CFG_KEY(BOOL, MasterFailoverDetachReplicaMasterHost, "false", 0, 0, ORC_CFG_UNSUPPORTED,
            "MasterFailoverDetachSlaveMasterHost", NULL,
            "detach the promoted master's own master host")
ORC_CFG_KEY(INT, MasterFailoverLostInstancesDowntimeMinutes, "0", 0, ORC_CFG_BIG, 0, NULL, NULL,
            "downtime of instances lost in a failover")
ORC_CFG_KEY(BOOL, CoMasterRecoveryMustPromoteOtherCoMaster, "true", 0, 0, 0, NULL, NULL,
            "a dead co-master is replaced by the other co-master only")
ORC_CFG_KEY(BOOL, RecoverNonWriteableMaster, "false", 0, 0, 0, NULL, NULL,
            "treat a read-only master as a failure and make it writeable")
ORC_CFG_KEY(INT, PostponeReplicaRecoveryOnLagMinutes, "0", 0, ORC_CFG_BIG, 0,
            "PostponeSlaveRecoveryOnLagMinutes", NULL,
            "replicas delayed more than this are relocated after the failover")
ORC_CFG_KEY(INT, MaxConcurrentReplicaOperations, "5", 1, 1000, 0, NULL, NULL,
            "replicas moved in parallel by relocate-replicas and the other operations on many "
            "replicas")
ORC_CFG_KEY(INT, InstanceBulkOperationsWaitTimeoutSeconds, "10", 1, 86400, ORC_CFG_UNSUPPORTED, NULL, NULL,
            "wait for one replica in a bulk operation")
ORC_CFG_KEY(BOOL, EnforceExactSemiSyncReplicas, "false", 0, 0, 0, NULL, NULL,
            "enable or disable semi-sync on replicas to match the master's wait count")
ORC_CFG_KEY(BOOL, RecoverLockedSemiSyncMaster, "false", 0, 0, 0, NULL, NULL,
            "recover a master blocked on semi-sync acknowledgements")
ORC_CFG_KEY(INT, ReasonableLockedSemiSyncMasterSeconds, "0", 0, ORC_CFG_BIG, 0, NULL, NULL,
            "a semi-sync master blocked this long is locked; 0: ReasonableReplicationLagSeconds")

ORC_CFG_SECTION("Hooks")
ORC_CFG_KEY(STR, ProcessesShellCommand, "bash", 0, 0, 0, NULL, NULL, "shell that runs the hooks")
ORC_CFG_KEY(LIST, OnFailureDetectionProcesses, "", 0, 0, 0, NULL, NULL,
            "run when a failure is detected")
ORC_CFG_KEY(LIST, PreGracefulTakeoverProcesses, "", 0, 0, 0, NULL, NULL,
            "run before a graceful takeover")
ORC_CFG_KEY(LIST, PreFailoverProcesses, "", 0, 0, 0, NULL, NULL,
            "run before a recovery; a failure aborts it")
ORC_CFG_KEY(LIST, PostFailoverProcesses, "", 0, 0, 0, NULL, NULL, "run after a successful recovery")
ORC_CFG_KEY(LIST, PostUnsuccessfulFailoverProcesses, "", 0, 0, 0, NULL, NULL,
            "run after a failed recovery")
ORC_CFG_KEY(LIST, PostMasterFailoverProcesses, "", 0, 0, 0, NULL, NULL,
            "run after a master recovery")
ORC_CFG_KEY(LIST, PostIntermediateMasterFailoverProcesses, "", 0, 0, 0, NULL, NULL,
            "run after an intermediate master recovery")
ORC_CFG_KEY(LIST, PostGracefulTakeoverProcesses, "", 0, 0, 0, NULL, NULL,
            "run after a graceful takeover")
ORC_CFG_KEY(LIST, PostTakeMasterProcesses, "", 0, 0, 0, NULL, NULL, "run after take-master")

ORC_CFG_SECTION("Raft")
ORC_CFG_KEY(BOOL, RaftEnabled, "false", 0, 0, 0, NULL, NULL,
            "run as a raft cluster of orchestrator nodes")
ORC_CFG_KEY(STR, RaftBind, "127.0.0.1:10008", 0, 0, 0, NULL, NULL,
            "raft TCP bind address; DefaultRaftPort is added when no port is given")
ORC_CFG_KEY(STR, RaftAdvertise, "", 0, 0, 0, NULL, NULL,
            "address the other nodes reach this one at; \"\": AdvertiseAddr, else RaftBind")
ORC_CFG_KEY(STR, AdvertiseAddr, "", 0, 0, 0, NULL, NULL,
            "this node's advertised address, host[:port] (also --advertise-addr and "
            "ADVERTISE_ADDR); fills RaftAdvertise (with RaftBind's port unless it has one) and "
            "HTTPAdvertise (http[s]://host:<ListenAddress port>) when those are not set")
ORC_CFG_KEY(STR, RaftDataDir, "", 0, 0, 0, NULL, NULL,
            "raft log and snapshots; required when RaftEnabled")
ORC_CFG_KEY(INT, DefaultRaftPort, "10008", 1, 65535, 0, NULL, NULL,
            "raft port assumed when an address has none")
ORC_CFG_KEY(LIST, RaftNodes, "", 0, 0, 0, NULL, NULL,
            "every node of the cluster, this one included; empty: a single node")
ORC_CFG_KEY(BOOL, RaftNonVoter, "false", 0, 0, 0, NULL, NULL,
            "this node joins as a non-voting standby")
ORC_CFG_KEY(INT, RaftAutoRemoveUnreachableSeconds, "0", 0, ORC_CFG_BIG, 0, NULL, NULL,
            "the leader removes nodes unreachable this long; 0: never")
ORC_CFG_KEY(INT, RaftMinVoters, "3", 1, 99, 0, NULL, NULL,
            "automatic removal never leaves fewer voters than this")
ORC_CFG_KEY(INT, RaftSnapshotThreshold, "1024", 1, ORC_CFG_BIG, 0, NULL, NULL,
            "raft log entries between two snapshots")
ORC_CFG_KEY(STR, RaftSecret, "", 0, 0, ORC_CFG_SECRET, NULL, NULL,
            "shared secret (16 bytes or more) every raft peer proves it knows before any raft "
            "message (HMAC-SHA256 challenge-response); the same on every node")
ORC_CFG_KEY(STR, RaftSecretFile, "", 0, 0, 0, NULL, NULL,
            "file holding RaftSecret (first line); must not be readable by others")
ORC_CFG_KEY(BOOL, RaftAllowUnauthenticatedPeers, "false", 0, 0, 0, NULL, NULL,
            "allow raft on a non-loopback RaftBind without RaftSecret (peers unauthenticated)")

ORC_CFG_SECTION("Key-value stores")
ORC_CFG_KEY(STR, KVClusterMasterPrefix, "mysql/master", 0, 0, 0, NULL, NULL,
            "prefix of the published master keys; normalized to end in \"/\"")
ORC_CFG_KEY(STR, ConsulAddress, "", 0, 0, 0, NULL, NULL, "Consul host:port; \"\": no Consul")
ORC_CFG_KEY(STR, ConsulScheme, "http", 0, 0, 0, NULL, "http|https", "scheme of ConsulAddress")
ORC_CFG_KEY(STR, ConsulAclToken, "", 0, 0, ORC_CFG_SECRET, NULL, NULL, "Consul ACL token")
ORC_CFG_KEY(BOOL, ConsulCrossDataCenterDistribution, "false", 0, 0, 0, NULL, NULL,
            "publish to every Consul data center")
ORC_CFG_KEY(STR, ConsulKVStoreProvider, "consul", 0, 0, 0, NULL, "consul|consul-txn",
            "consul (one write per key) or consul-txn (transactions)")
ORC_CFG_KEY(INT, ConsulMaxKVsPerTransaction, "5", 5, 64, 0, NULL, NULL,
            "keys per Consul transaction with consul-txn")
ORC_CFG_KEY(STR, ConsulCACert, "", 0, 0, 0, NULL, NULL,
            "CA bundle (PEM) verifying an https Consul; \"\": CONSUL_CACERT, else the system's")
ORC_CFG_KEY(STR, ConsulClientCert, "", 0, 0, 0, NULL, NULL,
            "client certificate (PEM) presented to Consul; \"\": CONSUL_CLIENT_CERT")
ORC_CFG_KEY(STR, ConsulClientKey, "", 0, 0, 0, NULL, NULL,
            "private key of ConsulClientCert; \"\": CONSUL_CLIENT_KEY")
ORC_CFG_KEY(STR, ConsulTLSServerName, "", 0, 0, 0, NULL, NULL,
            "name expected in Consul's certificate; \"\": CONSUL_TLS_SERVER_NAME, else the host")
ORC_CFG_KEY(STR, ZkAddress, "", 0, 0, 0, NULL, NULL,
            "ZooKeeper servers srv1[:port],srv2...; \"\": no ZooKeeper")
ORC_CFG_KEY(STR, EtcdEndpoints, "", 0, 0, 0, NULL, NULL,
            "etcd v3 endpoints, comma-separated URLs (http[s]://host:port); \"\": ETCD_ENDPOINTS, "
            "else no etcd")
ORC_CFG_KEY(STR, EtcdUser, "", 0, 0, 0, NULL, NULL, "etcd user (auth enabled); \"\": ETCD_USER")
ORC_CFG_KEY(STR, EtcdPassword, "", 0, 0, ORC_CFG_SECRET, NULL, NULL,
            "password of EtcdUser; \"\": ETCD_PASSWORD")
ORC_CFG_KEY(STR, EtcdCACert, "", 0, 0, 0, NULL, NULL,
            "CA bundle (PEM) verifying https endpoints; \"\": ETCD_CACERT, else the system's")
ORC_CFG_KEY(STR, EtcdClientCert, "", 0, 0, 0, NULL, NULL,
            "client certificate (PEM) presented to etcd; \"\": ETCD_CLIENT_CERT")
ORC_CFG_KEY(STR, EtcdClientKey, "", 0, 0, 0, NULL, NULL,
            "private key of EtcdClientCert; \"\": ETCD_CLIENT_KEY")
ORC_CFG_KEY(STR, KVManagerPrefix, "orchestrator/cluster", 0, 0, 0, NULL, NULL,
            "prefix under which the leader publishes itself and the manager nodes; \"\": not "
            "published")
ORC_CFG_KEY(INT, KVPublishIntervalSeconds, "60", 1, 86400, 0, NULL, NULL,
            "the leader re-publishes every master and the manager nodes this often")
ORC_CFG_KEY(INT, KVStoreTimeoutMilliseconds, "2000", 100, 60000, 0, NULL, NULL,
            "longest wait of one call to a KV store (connecting: at most half of it)")
/* clang-format on */
