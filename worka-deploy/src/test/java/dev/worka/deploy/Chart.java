package dev.worka.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The Helm chart {@code deploy/helm/worka}, rendered by real Helm (its Go library through
 * helm-java) and read into the official fabric8 Kubernetes model types.
 */
final class Chart {
  static final Path ROOT = Path.of(System.getProperty("worka.root", "..")).normalize();
  static final Path DIRECTORY = ROOT.resolve("deploy/helm/worka");
  static final String RELEASE = "prod";
  static final String NAMESPACE = "agents";
  static final String FULLNAME = "prod-worka";

  /** Rendered as for this API server (Helm's default, 1.20, is older than the chart allows). */
  static final String KUBERNETES_VERSION = "v1.33.0";

  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
  private static final Pattern DOCUMENT_SEPARATOR = Pattern.compile("(?m)^---\\s*$");

  private Chart() {}

  /** {@code helm template prod deploy/helm/worka -n agents --set k=v …}: the rendered YAML. */
  static String template(Map<String, String> values) {
    TemplateCommand template =
        new Helm(DIRECTORY)
            .template()
            .withName(RELEASE)
            .withNamespace(NAMESPACE)
            .withKubeVersion(KUBERNETES_VERSION);
    values.forEach(template::set);
    return template.call();
  }

  /** The rendered objects, each read into its model type; fails on a field Kubernetes lacks. */
  static List<HasMetadata> render(Map<String, String> values) {
    return parse(template(values));
  }

  /** Rendered YAML, each document read into its model type; fails on a field Kubernetes lacks. */
  static List<HasMetadata> parse(String rendered) {
    List<HasMetadata> objects = new ArrayList<>();
    for (String document : DOCUMENT_SEPARATOR.split(rendered)) {
      if (document.lines().allMatch(line -> line.isBlank() || line.startsWith("#"))) {
        continue;
      }
      Object parsed = SERIALIZATION.unmarshal(document);
      if (!(parsed instanceof HasMetadata object)) {
        throw new AssertionError("not a Kubernetes object: " + parsed + "\n" + document);
      }
      assertNoUnknownFields(object, object.getKind() + " " + object.getMetadata().getName());
      objects.add(object);
    }
    return objects;
  }

  /** Parses YAML (a policy manifest) into plain maps and lists. */
  static Map<?, ?> yaml(String text) {
    return SERIALIZATION.unmarshal(text, Map.class);
  }

  static <T extends HasMetadata> List<T> all(List<HasMetadata> objects, Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).toList();
  }

  static <T extends HasMetadata> T one(List<HasMetadata> objects, Class<T> type, String name) {
    List<T> found =
        all(objects, type).stream().filter(o -> o.getMetadata().getName().equals(name)).toList();
    assertEquals(1, found.size(), () -> "one " + type.getSimpleName() + " " + name + ": " + found);
    return found.get(0);
  }

  /** A failed render: the message Helm gave. */
  static String failure(Map<String, String> values) {
    try {
      template(values);
    } catch (RuntimeException e) {
      return String.valueOf(e.getMessage());
    }
    return fail("rendered, but should have failed: " + values);
  }

  /**
   * A field the model does not know (a typo such as {@code readOnlyRootFileSystem}) is kept by
   * fabric8 in {@code additionalProperties} and ignored by the API server: none may be there.
   */
  static void assertNoUnknownFields(Object root, String where) {
    walk(root, where, java.util.Collections.newSetFromMap(new IdentityHashMap<>()));
  }

  private static void walk(Object value, String where, Set<Object> seen) {
    if (value == null || !seen.add(value)) {
      return;
    }
    if (value instanceof Collection<?> items) {
      int i = 0;
      for (Object item : items) {
        walk(item, where + "[" + i++ + "]", seen);
      }
      return;
    }
    if (value instanceof Map<?, ?> map) {
      map.forEach((k, v) -> walk(v, where + "." + k, seen));
      return;
    }
    if (!value.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
      return;
    }
    Map<String, Object> children = new LinkedHashMap<>();
    for (Method method : value.getClass().getMethods()) {
      if (method.getParameterCount() != 0
          || Modifier.isStatic(method.getModifiers())
          || !method.getName().startsWith("get")
          || method.getDeclaringClass() == Object.class) {
        continue;
      }
      Object child;
      try {
        child = method.invoke(value);
      } catch (ReflectiveOperationException e) {
        throw new LinkageError(where + "." + method.getName(), e);
      }
      if (method.getName().equals("getAdditionalProperties")) {
        assertTrue(
            child == null || ((Map<?, ?>) child).isEmpty(),
            () -> where + " has fields Kubernetes does not know: " + child);
      } else {
        children.put(method.getName().substring(3), child);
      }
    }
    children.forEach((name, child) -> walk(child, where + "." + name, seen));
  }
}
