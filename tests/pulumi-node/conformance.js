// Drives pulumi-resource-provisioner with @pulumi/pulumi's own generated gRPC stubs (proto/provider_grpc_pb.js,
// provider_pb.js): the independent check that our protocol definitions match Pulumi's names and field numbers.
// Started by tests/Provisioner.Pulumi.Tests (NodeStubConformanceTests), which passes:
//   PLUGIN_PATH, HOST_FILE (a libvirt test:/// host), STACK, plus the plugin's own environment.
'use strict';
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const assert = require('node:assert/strict');
const grpc = require('@grpc/grpc-js');
const services = require('@pulumi/pulumi/proto/provider_grpc_pb.js');
const rpc = require('@pulumi/pulumi/proto/provider_pb.js');
const { Struct } = require('google-protobuf/google/protobuf/struct_pb.js');
const { Empty } = require('google-protobuf/google/protobuf/empty_pb.js');

const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';
const SIG = '4dabf18193072939515e22adb298388d';
const SECRET = '1b47061264138c4ac30d75fd1eb44270';
const NODE = 'provisioner:index:Node';
const stack = process.env.STACK;
const urn = (type, name) => `urn:pulumi:${stack}::provisioner::${type}::${name}`;

function config(cpus) {
  return Struct.fromJavaScript({
    hosts: [{ name: 'osl-kvm-1', uri: 'test://' + process.env.HOST_FILE, region: 'oslo', zone: 'osl-a',
      pool: { name: `${stack}-pool`, path: `/var/lib/provisioner/${stack}`, media: 'nvme' } }],
    networks: [{ name: 'cluster', cidr: '10.81.0.0/24', mode: 'nat' }],
    image: { name: 'debian-12' },
    nodes: [{ name: 'web', role: 'worker', cpus, memoryMiB: 512, diskGiB: 2, diskBus: 'virtio', network: 'cluster' }],
    placement: { region: 'oslo' },
    access: { user: 'ops', sshPublicKeys: [], adminCidrs: ['10.81.0.0/24'] },
    virtualization: { allowEmulation: true, type: 'qemu' },
  });
}

function call(client, method, request) {
  return new Promise((resolve, reject) => client[method](request, (err, res) => (err ? reject(err) : resolve(res))));
}

async function main() {
  const plugin = spawn(process.env.PLUGIN_PATH, ['127.0.0.1:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise((resolve, reject) => {
      const lines = readline.createInterface({ input: plugin.stdout });
      lines.once('line', (line) => resolve(Number(line.trim())));
      plugin.once('exit', (code) => reject(new Error(`plugin exited (${code}) before printing its port`)));
    });
    assert.ok(port > 0, 'first stdout line is the port');
    const client = new services.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const steps = [];
    const step = (name) => { steps.push(name); console.log(`ok ${steps.length} ${name}`); };

    const info = await call(client, 'getPluginInfo', new Empty());
    assert.equal(info.getVersion(), '0.1.0');
    step('GetPluginInfo');

    const schemaRequest = new rpc.GetSchemaRequest();
    const schema = JSON.parse((await call(client, 'getSchema', schemaRequest)).getSchema());
    assert.ok(schema.resources[NODE], 'schema has Node');
    assert.ok(schema.functions['provisioner:index:getPlacement'], 'schema has getPlacement');
    step('GetSchema');

    const badConfig = config(1).toJavaScript();
    badConfig.hosts[0].uri = 'qemu+shh://h/system';
    const checkBad = new rpc.CheckRequest();
    checkBad.setUrn(urn('pulumi:providers:provisioner', 'default'));
    checkBad.setNews(Struct.fromJavaScript(badConfig));
    const badFailures = (await call(client, 'checkConfig', checkBad)).getFailuresList();
    assert.ok(badFailures.some((f) => f.getProperty() === 'hosts[0].uri' && f.getReason().includes('qemu+shh')), 'bad uri is a failure at hosts[0].uri');

    const checkGood = new rpc.CheckRequest();
    checkGood.setUrn(urn('pulumi:providers:provisioner', 'default'));
    checkGood.setNews(config(1));
    const goodConfig = await call(client, 'checkConfig', checkGood);
    assert.equal(goodConfig.getFailuresList().length, 0);
    step('CheckConfig');

    const configure = new rpc.ConfigureRequest();
    configure.setArgs(goodConfig.getInputs());
    configure.setAcceptsecrets(true);
    configure.setAcceptresources(true);
    const configured = await call(client, 'configure', configure);
    assert.ok(configured.getAcceptsecrets() && configured.getSupportspreview());
    step('Configure');

    const nodeUrn = urn(NODE, 'web');
    const check = new rpc.CheckRequest();
    check.setUrn(nodeUrn);
    check.setType(NODE);
    check.setName('web');
    check.setNews(Struct.fromJavaScript({ name: 'web' }));
    const checked = await call(client, 'check', check);
    assert.equal(checked.getFailuresList().length, 0);
    const inputs = checked.getInputs();
    assert.equal(inputs.toJavaScript().memoryMiB, 512);

    const checkUnknown = new rpc.CheckRequest();
    checkUnknown.setUrn(nodeUrn);
    checkUnknown.setType(NODE);
    checkUnknown.setNews(Struct.fromJavaScript({ name: 'nope' }));
    const unknownFailures = (await call(client, 'check', checkUnknown)).getFailuresList();
    assert.equal(unknownFailures[0].getProperty(), 'name');
    step('Check');

    const preview = new rpc.CreateRequest();
    preview.setUrn(nodeUrn);
    preview.setType(NODE);
    preview.setProperties(inputs);
    preview.setPreview(true);
    const previewed = (await call(client, 'create', preview)).getProperties().toJavaScript();
    assert.equal(previewed.host, UNKNOWN);
    assert.equal(previewed.adminPrivateKey[SIG], SECRET);
    step('Create (preview)');

    const create = new rpc.CreateRequest();
    create.setUrn(nodeUrn);
    create.setType(NODE);
    create.setProperties(inputs);
    const created = await call(client, 'create', create);
    const state = created.getProperties();
    const outputs = state.toJavaScript();
    assert.equal(created.getId(), `${stack}/web`);
    assert.equal(outputs.state, 'Running');
    assert.ok(outputs.hostKeyFingerprint.startsWith('SHA256:'));
    assert.equal(outputs.adminPrivateKey[SIG], SECRET);
    assert.ok(outputs.adminPrivateKey.value.includes('PRIVATE KEY'));
    step('Create');

    const read = new rpc.ReadRequest();
    read.setId(created.getId());
    read.setUrn(nodeUrn);
    read.setType(NODE);
    read.setProperties(state);
    read.setInputs(inputs);
    const readBack = await call(client, 'read', read);
    assert.equal(readBack.getId(), created.getId());
    assert.equal(readBack.getProperties().toJavaScript().cpus, 1);
    step('Read');

    const reconfigure = new rpc.ConfigureRequest();
    reconfigure.setArgs(config(2));
    reconfigure.setAcceptsecrets(true);
    await call(client, 'configure', reconfigure);
    const recheck = new rpc.CheckRequest();
    recheck.setUrn(nodeUrn);
    recheck.setType(NODE);
    recheck.setOlds(inputs);
    recheck.setNews(Struct.fromJavaScript({ name: 'web' }));
    const newInputs = (await call(client, 'check', recheck)).getInputs();
    const diff = new rpc.DiffRequest();
    diff.setId(created.getId());
    diff.setUrn(nodeUrn);
    diff.setType(NODE);
    diff.setOlds(state);
    diff.setNews(newInputs);
    diff.setOldInputs(inputs);
    const diffed = await call(client, 'diff', diff);
    assert.equal(diffed.getChanges(), rpc.DiffResponse.DiffChanges.DIFF_SOME);
    assert.ok(diffed.getHasdetaileddiff());
    assert.equal(diffed.getDetaileddiffMap().get('cpus').getKind(), rpc.PropertyDiff.Kind.UPDATE);
    assert.deepEqual(diffed.getReplacesList(), []);
    // A node keeps its name (its libvirt domain) across a replacement: Pulumi must delete it before creating the new one.
    assert.equal(diffed.getDeletebeforereplace(), true);
    step('Diff');

    const update = new rpc.UpdateRequest();
    update.setId(created.getId());
    update.setUrn(nodeUrn);
    update.setType(NODE);
    update.setOlds(state);
    update.setNews(newInputs);
    update.setOldInputs(inputs);
    const updated = (await call(client, 'update', update)).getProperties();
    assert.equal(updated.toJavaScript().cpus, 2);
    step('Update');

    const invoke = new rpc.InvokeRequest();
    invoke.setTok('provisioner:index:getPlacement');
    invoke.setArgs(Struct.fromJavaScript({}));
    const placement = (await call(client, 'invoke', invoke)).getReturn().toJavaScript();
    assert.equal(placement.placements[0].node, 'web');
    assert.equal(placement.placements[0].host, 'osl-kvm-1');
    step('Invoke');

    const del = new rpc.DeleteRequest();
    del.setId(created.getId());
    del.setUrn(nodeUrn);
    del.setType(NODE);
    del.setProperties(updated);
    await call(client, 'delete', del);
    const gone = await call(client, 'read', read);
    assert.equal(gone.getId(), '');
    step('Delete');

    await call(client, 'cancel', new Empty());
    await assert.rejects(call(client, 'create', create), (e) => e.code === grpc.status.CANCELLED);
    step('Cancel');

    client.close();
    console.log(`all ${steps.length} steps passed`);
  } finally {
    plugin.kill();
  }
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
