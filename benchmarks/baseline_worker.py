"""The baseline for ``make bench --stack``: the least a Python Worker can do for a cached item.

One ``fetch`` of one Momento item (REST GET, the same item the edge serves), its body back.
No routing, no cache policy, no entry decoding: what is left is the runtime's own cost of a
request plus one subrequest, which the edge's hit and write are compared against.

Vars: ``BASELINE_URL`` (the item's REST URL), ``BASELINE_AUTH`` (the Momento API key).
"""

from workers import Response, WorkerEntrypoint, fetch


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        answer = await fetch(self.env.BASELINE_URL, headers={"authorization": self.env.BASELINE_AUTH})
        return Response(await answer.bytes(), status=answer.status)
