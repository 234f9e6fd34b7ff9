package dev.cloister.cis;

import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.ContainerConfig;
import com.github.dockerjava.api.model.Device;
import com.github.dockerjava.api.model.DeviceRequest;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HealthCheck;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Info;
import com.github.dockerjava.api.model.NetworkSettings;
import com.github.dockerjava.api.model.Ports;
import com.github.dockerjava.api.model.RestartPolicy;
import com.github.dockerjava.api.model.Ulimit;
import com.github.dockerjava.api.model.Volume;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The one place where docker-java's inspect and info responses become {@link ContainerFacts} and
 * {@link EngineFacts}. Reads only; never execs into the container.
 *
 * <p>docker-java 3.7 has no getter for {@code AppArmorProfile}, nor for a mount's {@code Type} and
 * {@code Propagation}; those are read from the response's raw JSON values, and reported as absent when missing.
 */
public final class InspectFacts {

    private InspectFacts() {
    }

    /** Facts of {@code container}, run by the engine that {@code engineInfo} ({@code docker info}) describes. */
    public static ContainerFacts from(InspectContainerResponse container, Info engineInfo) {
        return from(container, engine(engineInfo));
    }

    /** Facts of {@code container}, with engine facts read once and reused across containers. */
    public static ContainerFacts from(InspectContainerResponse container, EngineFacts engine) {
        Objects.requireNonNull(container, "container");
        Map<String, Object> raw = container.getRawValues();
        HostConfig host = container.getHostConfig() == null ? new HostConfig() : container.getHostConfig();
        ContainerConfig config = container.getConfig();
        Map<?, ?> rawHost = raw.get("HostConfig") instanceof Map<?, ?> m ? m : Map.of();

        List<String> command = new ArrayList<>();
        if (container.getPath() != null) {
            command.add(container.getPath());
        }
        command.addAll(strings(container.getArgs()));

        RestartPolicy restart = host.getRestartPolicy();
        return new ContainerFacts(
                container.getId(),
                container.getName() == null ? "" : container.getName().replaceFirst("^/", ""),
                config == null ? "" : config.getImage(),
                container.getImageId(),
                host.getRuntime(),
                command,
                Boolean.TRUE.equals(host.getPrivileged()),
                capabilities(rawHost.get("CapAdd"), host.getCapAdd()),
                capabilities(rawHost.get("CapDrop"), host.getCapDrop()),
                host.getSecurityOpts() == null ? List.of()
                        : host.getSecurityOpts().stream().filter(Objects::nonNull).toList(),
                raw.get("AppArmorProfile") instanceof String profile ? profile : null,
                container.getProcessLabel(),
                new ContainerFacts.Namespaces(host.getNetworkMode(), host.getPidMode(), host.getIpcMode(),
                        host.getUtSMode(), host.getUsernsMode()),
                mounts(container, raw.get("Mounts")),
                portBindings(host.getPortBindings()),
                Boolean.TRUE.equals(host.getPublishAllPorts()),
                new ContainerFacts.Resources(zero(host.getMemory()), zero(host.getMemorySwap()),
                        zero(host.getNanoCPUs()),
                        host.getCpuShares() == null ? 0 : host.getCpuShares(), zero(host.getCpuQuota()),
                        host.getPidsLimit(), host.getCgroupParent()),
                Boolean.TRUE.equals(host.getReadonlyRootfs()),
                restart == null ? new ContainerFacts.RestartPolicy("", 0)
                        : new ContainerFacts.RestartPolicy(restart.getName(),
                        restart.getMaximumRetryCount() == null ? 0 : restart.getMaximumRetryCount()),
                devices(host),
                ulimits(host.getUlimits()),
                healthcheck(config),
                container.getExecIds() == null ? List.of()
                        : container.getExecIds().stream().filter(Objects::nonNull).toList(),
                networks(container.getNetworkSettings()),
                engine);
    }

    /** The engine facts of {@code docker info}. */
    public static EngineFacts engine(Info info) {
        Objects.requireNonNull(info, "engine info");
        String swarm = info.getSwarm() == null || info.getSwarm().getLocalNodeState() == null ? ""
                : info.getSwarm().getLocalNodeState().getValue();
        return new EngineFacts(info.getServerVersion(), info.getKernelVersion(),
                info.getSecurityOptions() == null ? List.of()
                        : info.getSecurityOptions().stream().filter(Objects::nonNull).toList(),
                swarm);
    }

    // The engine's own spelling (CAP_SYS_ADMIN) when the raw value is there, docker-java's enum names otherwise.
    private static List<String> capabilities(Object raw, Capability[] typed) {
        if (raw instanceof List<?> list) {
            return list.stream().filter(Objects::nonNull).map(Object::toString).toList();
        }
        return typed == null ? List.of() : Arrays.stream(typed).filter(Objects::nonNull).map(Capability::name).toList();
    }

    private static List<ContainerFacts.Mount> mounts(InspectContainerResponse container, Object raw) {
        List<ContainerFacts.Mount> mounts = new ArrayList<>();
        if (raw instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Map<?, ?> m) {
                    mounts.add(new ContainerFacts.Mount(text(m.get("Type")), text(m.get("Source")),
                            text(m.get("Destination")), Boolean.TRUE.equals(m.get("RW")), text(m.get("Propagation"))));
                }
            }
            return mounts;
        }
        if (container.getMounts() != null) {
            for (InspectContainerResponse.Mount m : container.getMounts()) {
                Volume destination = m.getDestination();
                mounts.add(new ContainerFacts.Mount("", m.getSource(), destination == null ? "" : destination.getPath(),
                        Boolean.TRUE.equals(m.getRW()), ""));
            }
        }
        return mounts;
    }

    private static List<ContainerFacts.PortBinding> portBindings(Ports ports) {
        List<ContainerFacts.PortBinding> bindings = new ArrayList<>();
        if (ports == null || ports.getBindings() == null) {
            return bindings;
        }
        for (Map.Entry<ExposedPort, Ports.Binding[]> e : ports.getBindings().entrySet()) {
            if (e.getValue() == null) {
                continue;
            }
            for (Ports.Binding b : e.getValue()) {
                if (b != null) {
                    bindings.add(new ContainerFacts.PortBinding(e.getKey().toString(), b.getHostIp(),
                            b.getHostPortSpec()));
                }
            }
        }
        bindings.sort((a, b) -> (a.containerPort() + a.hostIp() + a.hostPort())
                .compareTo(b.containerPort() + b.hostIp() + b.hostPort()));
        return bindings;
    }

    private static List<String> devices(HostConfig host) {
        List<String> devices = new ArrayList<>();
        if (host.getDevices() != null) {
            for (Device d : host.getDevices()) {
                devices.add(d.getPathOnHost() + ":" + d.getPathInContainer() + ":" + d.getcGroupPermissions());
            }
        }
        if (host.getDeviceCgroupRules() != null) {
            host.getDeviceCgroupRules().forEach(rule -> devices.add("cgroup rule '" + rule + "'"));
        }
        if (host.getDeviceRequests() != null) {
            for (DeviceRequest r : host.getDeviceRequests()) {
                devices.add("device request driver=" + r.getDriver() + " count=" + r.getCount() + " ids="
                        + r.getDeviceIds() + " capabilities=" + r.getCapabilities());
            }
        }
        return devices;
    }

    private static List<String> ulimits(Ulimit[] ulimits) {
        if (ulimits == null) {
            return List.of();
        }
        return Arrays.stream(ulimits).filter(Objects::nonNull)
                .map(u -> u.getName() + "=" + u.getSoftLong() + ":" + u.getHardLong()).toList();
    }

    private static List<String> healthcheck(ContainerConfig config) {
        HealthCheck check = config == null ? null : config.getHealthcheck();
        return check == null || check.getTest() == null ? List.of()
                : check.getTest().stream().filter(Objects::nonNull).toList();
    }

    private static List<String> networks(NetworkSettings settings) {
        if (settings == null || settings.getNetworks() == null) {
            return List.of();
        }
        return List.copyOf(new TreeSet<>(settings.getNetworks().keySet()));
    }

    private static List<String> strings(String[] values) {
        return values == null ? List.of() : Arrays.stream(values).filter(Objects::nonNull).toList();
    }

    private static long zero(Long value) {
        return value == null ? 0 : value;
    }

    private static String text(Object value) {
        return value == null ? "" : value.toString();
    }
}
