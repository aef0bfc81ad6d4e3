package dev.worka.gateway.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.SettableClock;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.store.Transactions;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The gates' hash chain: intact under concurrent appends, and every kind of tampering is named. */
class GateChainTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  private final AuditLog audit = new AuditLog(new SettableClock());

  private Gate record(int i) {
    return Transactions.inTransaction(
        db.dataSource(),
        c ->
            audit.recordGate(
                c,
                new AuditLog.Decision(
                    GateAction.SKILL_INVOKE,
                    i % 2 == 0 ? GateStatus.ALLOW : GateStatus.DENY,
                    "ernest",
                    null,
                    null,
                    1,
                    "github.create_issue",
                    "decision " + i,
                    null,
                    "trace")));
  }

  private GateChain.Verification verify() {
    return Transactions.inTransaction(db.dataSource(), GateChain::verify);
  }

  /** Tampers as the database superuser would, with the append-only trigger out of the way. */
  private void tamper(String sql) {
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          try (Statement s = c.createStatement()) {
            s.execute("set constraints all immediate");
            s.execute("alter table gates disable trigger gates_append_only");
            s.execute(sql);
            s.execute("alter table gates enable trigger gates_append_only");
          }
          return null;
        });
  }

  @Test
  void concurrentAppendsMakeOneIntactChain() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(6);
    List<Future<Gate>> futures = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      int n = i;
      futures.add(pool.submit(() -> record(n)));
    }
    for (Future<Gate> f : futures) {
      f.get();
    }
    pool.shutdown();
    GateChain.Verification v = verify();
    assertEquals(
        300, assertInstanceOf(GateChain.Verification.Intact.class, v).length(), v.toString());
  }

  @Test
  void anEditedGateIsNamed() {
    for (int i = 0; i < 5; i++) {
      record(i);
    }
    assertInstanceOf(GateChain.Verification.Intact.class, verify());
    tamper("update gates set reason = 'nothing to see' where chain_index = 3");
    GateChain.Verification.Broken b =
        assertInstanceOf(GateChain.Verification.Broken.class, verify());
    assertEquals(3, b.chainIndex());
    assertTrue(b.problem().contains("was edited"), b.problem());
  }

  @Test
  void aGateEditedToAnActionNoGatewayWritesIsNamed() {
    for (int i = 0; i < 5; i++) {
      record(i);
    }
    tamper("update gates set action = 'skill.forgive' where chain_index = 4");
    GateChain.Verification.Broken b =
        assertInstanceOf(GateChain.Verification.Broken.class, verify());
    assertEquals(4, b.chainIndex());
    assertTrue(b.problem().contains("was edited"), b.problem());
  }

  @Test
  void aRemovedGateIsNamed() {
    for (int i = 0; i < 5; i++) {
      record(i);
    }
    tamper("delete from gates where chain_index = 2");
    GateChain.Verification.Broken b =
        assertInstanceOf(GateChain.Verification.Broken.class, verify());
    assertEquals(2, b.chainIndex());
    assertTrue(b.problem().contains("missing"), b.problem());
  }

  @Test
  void aGateRemovedFromTheEndIsNoticedByTheHead() {
    for (int i = 0; i < 4; i++) {
      record(i);
    }
    tamper("delete from gates where chain_index = 4");
    GateChain.Verification.Broken b =
        assertInstanceOf(GateChain.Verification.Broken.class, verify());
    assertTrue(b.problem().contains("head says #4"), b.problem());
  }

  @Test
  void aGateReplacedOrInsertedOutOfOrderIsNamed() {
    for (int i = 0; i < 4; i++) {
      record(i);
    }
    // Swap the positions of gates 2 and 3: each still matches its own hash, but the links break.
    tamper("update gates set chain_index = -2 where chain_index = 2");
    tamper("update gates set chain_index = 2 where chain_index = 3");
    tamper("update gates set chain_index = 3 where chain_index = -2");
    GateChain.Verification.Broken b =
        assertInstanceOf(GateChain.Verification.Broken.class, verify());
    assertEquals(2, b.chainIndex());
    assertTrue(
        b.problem().contains("does not link") || b.problem().contains("edited"), b.problem());

    tamper(
        "insert into gates (id, action, status, subject, reason) values (gen_random_uuid(), 'x', 'allow', 'x', 'forged')");
    GateChain.Verification.Broken forged =
        assertInstanceOf(GateChain.Verification.Broken.class, verify());
    assertTrue(forged.problem().contains("inserted outside the Gateway"), forged.problem());
  }
}
