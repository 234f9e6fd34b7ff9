package dev.cloister.cis;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.Info;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The adapter on engine JSON, read by docker-java's own object mapper (the one its client uses, which keeps the raw
 * values that carry {@code AppArmorProfile} and a mount's propagation). The JSON is Docker 20.10's inspect of
 * {@code docker create --privileged --network host --pid host --cap-add SYS_ADMIN -v /var/run/docker.sock:... } on
 * this kind of host, trimmed to the fields the adapter reads.
 */
class InspectFactsTest {

    static final String WEAK_CONTAINER = """
            {"Id": "b77607be31c7b723bc7eb92302bc68d1a95525177bc1f1cd9c6a6ff6fb1900b5",
             "Path": "/usr/bin/tini", "Args": ["--", "sshd", "-D"],
             "Image": "sha256:c576812a51595db377aa01a95d7569f4b590bc5ef371e91aeb7397ced4a52709",
             "Name": "/cis-probe", "AppArmorProfile": "", "ProcessLabel": "", "ExecIDs": null,
             "Mounts": [
              {"Type": "bind", "Source": "/var/run/docker.sock", "Destination": "/var/run/docker.sock", "Mode": "",
               "RW": true, "Propagation": "rprivate"},
              {"Type": "bind", "Source": "/etc", "Destination": "/hostetc", "Mode": "", "RW": true, "Propagation": "rshared"}],
             "Config": {"Image": "cloister/trainer-base:bookworm", "Cmd": ["sshd", "-D"], "Entrypoint": ["/usr/bin/tini", "--"],
              "Healthcheck": {"Test": ["CMD-SHELL", "true"]}, "User": ""},
             "HostConfig": {"NetworkMode": "host",
              "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "80"}], "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]},
              "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
              "CapAdd": ["CAP_SYS_ADMIN"], "CapDrop": ["CAP_NET_RAW"], "IpcMode": "private", "PidMode": "host",
              "Privileged": true, "PublishAllPorts": false, "ReadonlyRootfs": false, "SecurityOpt": ["label=disable"],
              "UTSMode": "", "UsernsMode": "", "Runtime": "runc", "CpuShares": 0, "Memory": 0, "NanoCpus": 0,
              "CgroupParent": "", "CpuQuota": 0,
              "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/xnull", "CgroupPermissions": "rwm"}],
              "DeviceCgroupRules": null, "DeviceRequests": null, "MemorySwap": 0, "PidsLimit": null,
              "Ulimits": [{"Name": "nofile", "Hard": 20, "Soft": 10}]},
             "NetworkSettings": {"Ports": {}, "Networks": {"host": {}}}}
            """;

    static final String ENGINE = """
            {"ServerVersion": "20.10.24+dfsg1", "KernelVersion": "6.18.44-fc-v782",
             "SecurityOptions": ["name=seccomp,profile=default"],
             "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false, "Error": ""}}
            """;

    static final ObjectMapper DOCKER_JAVA = DefaultDockerClientConfig.createDefaultConfigBuilder()
            .withDockerHost("unix:///var/run/docker.sock").build().getObjectMapper();

    @Test
    void readsEveryFieldTheChecksUse() throws Exception {
        ContainerFacts f = InspectFacts.from(DOCKER_JAVA.readValue(WEAK_CONTAINER, InspectContainerResponse.class),
                DOCKER_JAVA.readValue(ENGINE, Info.class));

        assertEquals("cis-probe", f.name());
        assertEquals("cloister/trainer-base:bookworm", f.image());
        assertEquals("sha256:c576812a51595db377aa01a95d7569f4b590bc5ef371e91aeb7397ced4a52709", f.imageId());
        assertEquals(List.of("/usr/bin/tini", "--", "sshd", "-D"), f.command());
        assertTrue(f.privileged());
        assertEquals(List.of("CAP_SYS_ADMIN"), f.capAdd(), "the engine's own spelling");
        assertEquals(List.of("CAP_NET_RAW"), f.capDrop());
        assertEquals(List.of("label=disable"), f.securityOpt());
        assertEquals("", f.appArmorProfile(), "reported, and empty");
        assertEquals(new ContainerFacts.Namespaces("host", "host", "private", "", ""), f.namespaces());
        assertEquals(List.of(new ContainerFacts.Mount("bind", "/var/run/docker.sock", "/var/run/docker.sock", true, "rprivate"),
                new ContainerFacts.Mount("bind", "/etc", "/hostetc", true, "rshared")), f.mounts());
        assertEquals(List.of(new ContainerFacts.PortBinding("80/tcp", "", "80"),
                new ContainerFacts.PortBinding("8080/tcp", "127.0.0.1", "")), f.portBindings());
        assertEquals(new ContainerFacts.Resources(0, 0, 0, 0, 0, null, ""), f.resources());
        assertFalse(f.readOnlyRootfs());
        assertEquals(new ContainerFacts.RestartPolicy("on-failure", 3), f.restartPolicy());
        assertEquals(List.of("/dev/null:/dev/xnull:rwm"), f.devices());
        assertEquals(List.of("nofile=10:20"), f.ulimits());
        assertEquals(List.of("CMD-SHELL", "true"), f.healthcheck());
        assertEquals(List.of(), f.execIds());
        assertEquals(List.of("host"), f.networks());
        assertEquals(new EngineFacts("20.10.24+dfsg1", "6.18.44-fc-v782", List.of("name=seccomp,profile=default"), "inactive"),
                f.engine());
    }

    @Test
    void anInspectWithoutRawValuesGivesAbsentFactsNotAnException() {
        ContainerFacts f = InspectFacts.from(new InspectContainerResponse(), new EngineFacts(null, null, null, null));

        assertNull(f.appArmorProfile(), "not reported is not the same as empty");
        assertEquals(List.of(), f.mounts());
        assertEquals(List.of(), f.command());
        assertEquals("", f.namespaces().network());
        List<CisResult> results = new CisBenchmark().evaluate(f);
        assertEquals(32, results.size());
        assertTrue(results.stream().filter(r -> r.id().equals("5.2")).findFirst().orElseThrow().evidence()
                .contains("AppArmorProfile=(not reported)"));
    }
}
