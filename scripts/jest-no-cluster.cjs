// Tests never reach a real cluster: whatever kubeconfig or service account the machine has, the
// healer of an in-process or spawned `amadeus serve` finds none (a set KUBECONFIG whose files do
// not exist means "no cluster", as for kubectl). Tests that need one point --kubeconfig at the fake.
process.env.KUBECONFIG = require('node:path').join(require('node:os').tmpdir(), 'amadeus-tests-have-no-kubeconfig');
delete process.env.KUBERNETES_SERVICE_HOST;
