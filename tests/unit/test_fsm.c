/*
 * Unit tests of the FSM's log bookkeeping (orchestrator/fsm_log.c) and of id
 * assignment, on a throw-away SQLite store: ids come from the applying
 * transaction (equal on two stores applying the same entries), an entry is
 * applied once, a refused command is recorded, and a store of another raft
 * log is refused. Also the replicated recovery settings (set-recovery-config):
 * what is stored, what is refused, the callback, snapshots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/be.h"
#include "orchestrator/fsm.h"
#include "orchestrator/fsm_snapshot.h"

struct store {
    char dir[64], path[128];
    struct be *be;
    struct orc_config cfg;
    struct orc_fsm f;
};

static void store_open(struct store *s)
{
    struct be_options o;
    char err[ORC_ERRMSG_SIZE] = "";
    int applied = 0;

    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/orc-test-fsm-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->path, sizeof(s->path), "%s/orc.sqlite3", s->dir);
    memset(&o, 0, sizeof(o));
    o.kind = "sqlite";
    o.sqlite_path = s->path;
    assert_int_equal(be_open(&o, &s->be, err, sizeof(err)), 0);
    assert_int_equal(be_migrate(s->be, &applied, err, sizeof(err)), 0);
    orc_fsm_init(&s->f, &s->cfg, s->be, NULL);
}

static void store_close(struct store *s)
{
    char p[160];

    orc_fsm_release(&s->f);
    be_close(s->be);
    unlink(s->path);
    snprintf(p, sizeof(p), "%s-wal", s->path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", s->path);
    unlink(p);
    rmdir(s->dir);
}

/* Applies entry index of log "L1" (term 1); returns the command's result. */
static int apply(struct store *s, uint64_t index, const char *op, const char *json, int64_t *id)
{
    struct orc_fsm_entry e = {index, 1, "L1"};
    char err[ORC_ERRMSG_SIZE] = "";
    json_t *p = json_loads(json, 0, NULL), *res = NULL;
    int cmd_rc = -100;

    assert_non_null(p);
    assert_int_equal(orc_fsm_apply_index(&s->f, &e, op, p, &res, &cmd_rc, err, sizeof(err)), 0);
    if (id != NULL)
        *id = json_integer_value(json_object_get(res, "Id"));
    json_decref(res);
    json_decref(p);
    return cmd_rc;
}

#define MAINT(h) "{\"Key\":{\"Hostname\":\"" h "\",\"Port\":3306},\"Owner\":\"o\",\"Now\":1000}"
#define DETECT(h)                                    \
    "{\"Key\":{\"Hostname\":\"" h                    \
    "\",\"Port\":3306},\"Analysis\":\"DeadMaster\"," \
    "\"IsActionable\":true,\"Now\":1000}"

/* Two stores applying the same entries assign the same ids, whatever their
 * own history (an auto-increment counter would differ). */
static void test_ids_are_equal_on_every_store(void **state)
{
    struct store a, b;
    char err[ORC_ERRMSG_SIZE];
    int64_t ida = 0, idb = 0;

    (void)state;
    store_open(&a);
    store_open(&b);
    /* b's counter moved: a row inserted and deleted outside the FSM */
    assert_int_equal(be_exec(b.be,
                             "INSERT INTO database_instance_maintenance (hostname, port)"
                             " VALUES ('x', 1)",
                             NULL, 0, NULL, err, sizeof(err)),
                     0);
    assert_int_equal(
        be_exec(b.be, "DELETE FROM database_instance_maintenance", NULL, 0, NULL, err, sizeof(err)),
        0);
    assert_int_equal(apply(&a, 1, "begin-maintenance", MAINT("db1"), &ida), 0);
    assert_int_equal(apply(&b, 1, "begin-maintenance", MAINT("db1"), &idb), 0);
    assert_int_equal(ida, 1);
    assert_int_equal(idb, ida);
    /* a refused begin (already in maintenance) answers the existing id */
    assert_int_equal(apply(&a, 2, "begin-maintenance", MAINT("db1"), &ida), ORC_EEXIST);
    assert_int_equal(ida, 1);
    assert_int_equal(apply(&a, 3, "register-failure-detection", DETECT("db1"), &ida), 0);
    assert_int_equal(apply(&b, 2, "register-failure-detection", DETECT("db1"), &idb), 0);
    assert_int_equal(ida, idb);
    store_close(&a);
    store_close(&b);
}

/* An entry is applied once: a replayed log skips what the store has. */
static void test_entry_applies_once_and_refusals_are_recorded(void **state)
{
    struct store a;
    int64_t id = 0;

    (void)state;
    store_open(&a);
    assert_int_equal(apply(&a, 5, "begin-maintenance", MAINT("db1"), &id), 0);
    assert_int_equal(id, 1);
    /* replayed: skipped (no answer, no second row) */
    assert_int_equal(apply(&a, 5, "begin-maintenance", MAINT("db2"), &id), 0);
    assert_int_equal(id, 0);
    /* refused by its own logic: recorded, so not applied again later */
    assert_int_equal(apply(&a, 6, "end-maintenance", "{\"Id\":99,\"Now\":1001}", NULL),
                     ORC_ENOTFOUND);
    assert_int_equal(apply(&a, 6, "begin-maintenance", MAINT("db3"), &id), 0);
    assert_int_equal(id, 0);
    assert_int_equal(apply(&a, 7, "begin-maintenance", MAINT("db2"), &id), 0);
    assert_int_equal(id, 2);
    store_close(&a);
}

/* A store that counts in another raft log is refused, at start and apply. */
static void test_store_of_another_log_is_refused(void **state)
{
    struct store a;
    struct orc_fsm_entry e = {9, 1, "L2"};
    char err[ORC_ERRMSG_SIZE] = "";
    json_t *p = json_loads(MAINT("db1"), 0, NULL), *res = NULL;
    int cmd_rc = 0;

    (void)state;
    store_open(&a);
    assert_int_equal(orc_fsm_log_claim(&a.f, "L1", true, err, sizeof(err)), 0);
    assert_int_equal(apply(&a, 1, "begin-maintenance", MAINT("db1"), NULL), 0);
    assert_int_equal(orc_fsm_log_claim(&a.f, "L1", false, err, sizeof(err)), 0);
    assert_int_equal(orc_fsm_log_claim(&a.f, "L2", true, err, sizeof(err)), ORC_ESTATE);
    assert_non_null(strstr(err, "not from this RaftDataDir"));
    assert_int_equal(
        orc_fsm_apply_index(&a.f, &e, "begin-maintenance", p, &res, &cmd_rc, err, sizeof(err)),
        ORC_ESTATE);
    json_decref(p);
    store_close(&a);
}

/* A store with applied state but no log id, and a new raft dir: refused. */
static void test_wiped_raft_dir_is_refused(void **state)
{
    struct store a;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    store_open(&a);
    assert_int_equal(apply(&a, 3, "begin-maintenance", MAINT("db1"), NULL), 0);
    assert_int_equal(
        be_exec(a.be, "DELETE FROM raft_log_identity", NULL, 0, NULL, err, sizeof(err)), 0);
    assert_int_equal(orc_fsm_log_claim(&a.f, "L9", true, err, sizeof(err)), ORC_ESTATE);
    assert_non_null(strstr(err, "RaftDataDir is new"));
    store_close(&a);
}

/* submit-pool-instances replaces the pool's members on every store alike;
 * a malformed member refuses the whole command. */
static void test_pool_submission_replaces_the_pool(void **state)
{
    struct store a;
    struct be_pool_list l = {0};
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    store_open(&a);
    assert_int_equal(apply(&a, 1, "submit-pool-instances",
                           "{\"Pool\":\"web\",\"Now\":500,\"Instances\":["
                           "{\"Hostname\":\"db2\",\"Port\":3306},"
                           "{\"Hostname\":\"db1\",\"Port\":3306}]}",
                           NULL),
                     0);
    assert_int_equal(apply(&a, 2, "submit-pool-instances",
                           "{\"Pool\":\"batch\",\"Now\":500,\"Instances\":["
                           "{\"Hostname\":\"db3\",\"Port\":3306}]}",
                           NULL),
                     0);
    assert_int_equal(be_pool_list(a.be, "web", 0, &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].key.host, "db1");
    assert_int_equal(l.v[0].registered_at, 500);
    be_pool_list_free(&l);
    assert_int_equal(apply(&a, 3, "submit-pool-instances",
                           "{\"Pool\":\"web\",\"Now\":600,\"Instances\":["
                           "{\"Hostname\":\"db2\",\"Port\":3306}]}",
                           NULL),
                     0);
    assert_int_equal(apply(&a, 4, "submit-pool-instances",
                           "{\"Pool\":\"web\",\"Instances\":[{\"Hostname\":\"db9\"}]}", NULL),
                     ORC_EINVAL);
    assert_int_equal(be_pool_list(a.be, NULL, 0, &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 2); /* batch: db3; web: db2 only */
    assert_string_equal(l.v[0].pool, "batch");
    assert_string_equal(l.v[1].key.host, "db2");
    assert_int_equal(l.v[1].registered_at, 600);
    be_pool_list_free(&l);
    assert_int_equal(be_pool_list(a.be, NULL, 550, &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 1); /* expired ones are left out */
    be_pool_list_free(&l);
    store_close(&a);
}

static void count_calls(void *arg)
{
    (*(int *)arg)++;
}

/* The stored rows as "Key=Value;" text. */
static void rcfg_rows(struct store *s, char *out, size_t n)
{
    struct be_rcfg_list l = {0};
    char err[ORC_ERRMSG_SIZE] = "";
    size_t used = 0;

    assert_int_equal(be_rcfg_list(s->be, &l, err, sizeof(err)), 0);
    out[0] = '\0';
    for (size_t i = 0; i < l.n && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s=%s;", l.v[i].key, l.v[i].value);
    be_rcfg_list_free(&l);
}

#define RCFG(k, v) "{\"Key\":\"" k "\",\"Value\":" v ",\"By\":\"op\",\"Now\":700}"

static void test_recovery_config_set_reset_and_refusals(void **state)
{
    struct store a;
    struct be_rcfg_list l = {0};
    char rows[512], err[ORC_ERRMSG_SIZE] = "";
    int calls = 0;

    (void)state;
    store_open(&a);
    a.f.on_rcfg = count_calls;
    a.f.on_rcfg_arg = &calls;
    assert_int_equal(apply(&a, 1, "set-recovery-config",
                           RCFG("RecoverMasterClusterFilters", "[\"*\", \"alias=db\"]"), NULL),
                     0);
    /* a synonym names the key; stored under its name, normalized */
    assert_int_equal(apply(&a, 2, "set-recovery-config",
                           RCFG("DetachLostSlavesAfterMasterFailover", "false"), NULL),
                     0);
    assert_int_equal(calls, 2);
    rcfg_rows(&a, rows, sizeof(rows));
    assert_string_equal(rows,
                        "DetachLostReplicasAfterMasterFailover=false;"
                        "RecoverMasterClusterFilters=[\"*\",\"alias=db\"];");
    assert_int_equal(be_rcfg_list(a.be, &l, err, sizeof(err)), 0);
    assert_string_equal(l.v[0].set_by, "op");
    assert_int_equal(l.v[0].set_at, 700);
    be_rcfg_list_free(&l);

    /* refused the same on every node, nothing stored, no callback */
    assert_int_equal(apply(&a, 3, "set-recovery-config", RCFG("ListenAddress", "\"x:1\""), NULL),
                     ORC_EINVAL);
    assert_int_equal(apply(&a, 4, "set-recovery-config", RCFG("NoSuchKey", "1"), NULL), ORC_EINVAL);
    assert_int_equal(
        apply(&a, 5, "set-recovery-config", RCFG("RecoverMasterClusterFilters", "\"*\""), NULL),
        ORC_EINVAL); /* a string where a list is due */
    assert_int_equal(
        apply(&a, 6, "set-recovery-config", RCFG("RecoveryPeriodBlockSeconds", "-5"), NULL),
        ORC_EINVAL);
    assert_int_equal(apply(&a, 7, "set-recovery-config",
                           RCFG("PostFailoverProcesses", "[\"ssh h 'echo {failedHost}'\"]"), NULL),
                     ORC_EINVAL); /* a placeholder inside single quotes */
    assert_int_equal(apply(&a, 8, "set-recovery-config",
                           RCFG("MasterFailoverDetachReplicaMasterHost", "true"), NULL),
                     ORC_EINVAL); /* not supported: only its default */
    assert_int_equal(calls, 2);
    rcfg_rows(&a, rows, sizeof(rows));
    assert_string_equal(rows,
                        "DetachLostReplicasAfterMasterFailover=false;"
                        "RecoverMasterClusterFilters=[\"*\",\"alias=db\"];");

    /* Value null (or none): the row goes, nodes fall back to their files */
    assert_int_equal(
        apply(&a, 9, "set-recovery-config", RCFG("RecoverMasterClusterFilters", "null"), NULL), 0);
    assert_int_equal(apply(&a, 10, "set-recovery-config",
                           "{\"Key\":\"DetachLostReplicasAfterMasterFailover\"}", NULL),
                     0);
    assert_int_equal(calls, 4);
    rcfg_rows(&a, rows, sizeof(rows));
    assert_string_equal(rows, "");
    store_close(&a);
}

static void test_recovery_config_travels_in_snapshots(void **state)
{
    struct store a, b;
    struct orc_buf doc = ORC_BUF_INIT;
    char rows[512], err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    store_open(&a);
    store_open(&b);
    assert_int_equal(
        apply(&a, 1, "set-recovery-config", RCFG("RecoveryPeriodBlockSeconds", "60"), NULL), 0);
    assert_int_equal(
        apply(&b, 1, "set-recovery-config", RCFG("PreventCrossRegionMasterFailover", "true"), NULL),
        0);
    assert_int_equal(orc_fsm_snapshot_dump(&a.f, NULL, &doc, err, sizeof(err)), 0);
    assert_int_equal(orc_fsm_snapshot_restore(&b.f, doc.data, doc.len, NULL, err, sizeof(err)), 0);
    rcfg_rows(&b, rows, sizeof(rows)); /* the snapshot's rows replace b's */
    assert_string_equal(rows, "RecoveryPeriodBlockSeconds=60;");
    orc_buf_release(&doc);
    store_close(&a);
    store_close(&b);
}

static void test_recovery_config_value_check(void **state)
{
    json_t *v = json_pack("[s]", "echo {failedHost}"), *norm = NULL;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    assert_int_equal(orc_fsm_rcfg_value("PostFailoverProcesses", v, &norm, err, sizeof(err)), 0);
    assert_true(json_equal(v, norm));
    json_decref(norm);
    json_decref(v);
    v = json_integer(1);
    assert_int_equal(orc_fsm_rcfg_value("InstancePollSeconds", v, &norm, err, sizeof(err)),
                     ORC_EINVAL);
    assert_non_null(strstr(err, "not a recovery setting"));
    assert_null(norm);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_are_equal_on_every_store),
        cmocka_unit_test(test_entry_applies_once_and_refusals_are_recorded),
        cmocka_unit_test(test_store_of_another_log_is_refused),
        cmocka_unit_test(test_wiped_raft_dir_is_refused),
        cmocka_unit_test(test_pool_submission_replaces_the_pool),
        cmocka_unit_test(test_recovery_config_set_reset_and_refusals),
        cmocka_unit_test(test_recovery_config_travels_in_snapshots),
        cmocka_unit_test(test_recovery_config_value_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
