package dev.hive.core.http;

import static dev.hive.core.fuzz.Refusal.decodesOrRefuses;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hive.api.AppSpec;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.VmSpec;
import dev.hive.core.state.AppSpecCodec;
import dev.hive.core.state.VmSpecCodec;
import java.util.Map;

/**
 * The REST API's JSON bodies, as a client may send them: each is parsed as the route parses it
 * ({@link ApiServer.Request#json} and the route's reader) and either read or refused with an
 * {@link InvalidSpecException}, which the API answers with 400 naming the field. Anything else
 * escaping would be a 500. A spec that reads comes back the same through its own encoding.
 */
class RestBodiesFuzzTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  /** The JSON escape of NUL, which no path, name or argument may hold. */
  private static final String ESCAPES = "\\u0000";

  private static ApiServer.Request post(byte[] body) {
    return new ApiServer.Request("POST", "/api/v1/fuzz", Map.of(), Map.of(), body, "application/json", null);
  }

  @FuzzTest
  @DictionaryEntries({"\"name\"", "\"command\"", "\"image\"", "\"runtime\"", "\"replicas\"", "\"cpus\"", "\"memory\"", "\"memoryBytes\"",
      "\"ports\"", "\"env\"", "\"healthCheck\"", "\"restart\"", "\"restartLimit\"", "\"stateful\"", "\"strategy\"", "\"antiAffinity\"",
      "\"constraints\"", "\"tolerations\"", "\"entrypoint\"", "\"args\"", "\"labels\"", "\"service\"", "\"servicePort\"", "\"type\"",
      "\"path\"", "\"intervalMs\"", "\"timeoutMs\"", "\"healthyThreshold\"", "\"unhealthyThreshold\"", "\"port\"", "\"hostPort\"",
      "\"http\"", "\"tcp\"", "\"exec\"", "\"on-failure\"", "\"binpack\"", "\"spread\"", "\"256M\"", "\"1Gi\"", ESCAPES})
  void appSpec(byte[] body) {
    AppSpec spec = decodesOrRefuses(body, InvalidSpecException.class, () -> AppSpecCodec.fromJson(post(body).json(MAPPER)));
    if (spec != null) {
      assertThat(AppSpecCodec.fromJson(AppSpecCodec.toJson(MAPPER, spec))).as("the spec read back from its JSON").isEqualTo(spec);
    }
  }

  @FuzzTest
  @DictionaryEntries({"\"name\"", "\"vcpus\"", "\"memoryBytes\"", "\"memory\"", "\"disks\"", "\"kernel\"", "\"initrd\"", "\"cmdline\"",
      "\"network\"", "\"serialLog\"", "\"node\"", "\"/var/lib/hive/disk.img\"", "\"256M\"", ESCAPES})
  void vmSpec(byte[] body) {
    VmSpec spec = decodesOrRefuses(body, InvalidSpecException.class, () -> VmSpecCodec.fromJson(post(body).json(MAPPER)));
    if (spec != null) {
      assertThat(VmSpecCodec.fromJson(VmSpecCodec.toJson(MAPPER, spec))).as("the spec read back from its JSON").isEqualTo(spec);
    }
  }

  @FuzzTest
  @DictionaryEntries({"\"target\"", "\"mode\"", "\"maxDowntimeMs\"", "\"bandwidthMiBps\"", "\"autoConverge\"", "\"postCopy\"",
      "\"timeoutSeconds\"", "\"cold\"", "\"warm\"", "\"live\""})
  void migration(byte[] body) {
    VmRoutes.MigrateRequest request = decodesOrRefuses(body, InvalidSpecException.class, () -> VmRoutes.migrateRequest(post(body).json(MAPPER)));
    if (request != null) {
      assertThat(request.target()).isNotNull();
      assertThat(request.options()).isNotNull();
    }
  }

  @FuzzTest
  @DictionaryEntries({"\"path\"", "\"target\"", "\"streams\"", "\"chunkSize\"", "\"as\"", "\"plain\"", "\"overwrite\"", "\"bandwidthLimit\"",
      "\"/srv/data\"", "\"REPLACE\"", "\"FAIL\"", ESCAPES})
  void transfer(byte[] body) {
    TransferRoutes.SendRequest request = decodesOrRefuses(body, InvalidSpecException.class, () -> TransferRoutes.sendRequest(post(body).json(MAPPER)));
    if (request != null) {
      assertThat(request.file().isAbsolute()).isTrue();
      assertThat(request.target()).isNotBlank();
    }
  }
}
