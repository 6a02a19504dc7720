import type { FastifyPluginAsync } from "fastify";
import type { FaultSettings } from "../../node/node.js";
import { clearFaultsSchema, getFaultsSchema, setFaultsSchema } from "../schemas.js";
import { type ApiContext, documenter } from "./context.js";

/** Faults on demand, so that gaps and repairs can be watched on a live node: GET, PUT and DELETE /v1/faults. */
export const faultRoutes: FastifyPluginAsync<Pick<ApiContext, "node" | "routes">> = async (app, { node, routes }) => {
  const route = documenter(app, routes);
  route("GET", "/v1/faults", getFaultsSchema, async () => node.faults());
  route("PUT", "/v1/faults", setFaultsSchema, async (request) => {
    const body = request.body as Partial<FaultSettings>;
    return node.setFaults({
      ...(body.loss === undefined ? {} : { loss: body.loss }),
      ...(body.isolated === undefined ? {} : { isolated: body.isolated }),
    });
  });
  route("DELETE", "/v1/faults", clearFaultsSchema, async () => node.setFaults({ loss: 0, isolated: [] }));
};
