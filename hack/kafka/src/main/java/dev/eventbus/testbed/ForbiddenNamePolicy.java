package dev.eventbus.testbed;

import java.util.Map;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.server.policy.CreateTopicPolicy;

/** Refuses any topic whose name contains "forbidden": a real create policy for the tests. */
public final class ForbiddenNamePolicy implements CreateTopicPolicy {
    @Override
    public void configure(Map<String, ?> configs) {}

    @Override
    public void validate(RequestMetadata request) throws PolicyViolationException {
        if (request.topic().contains("forbidden")) {
            throw new PolicyViolationException(
                "topic name " + request.topic() + " contains 'forbidden' (testbed create policy)");
        }
    }

    @Override
    public void close() {}
}
