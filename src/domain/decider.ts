/**
 * An event-sourced aggregate as a decider (Emmett style): three pure functions plus the name
 * its streams carry (`<aggregateType>-<id>`). The activities' command runner works with any
 * decider, so the Order and the Return aggregates share one way of loading, deciding and
 * appending.
 */
export interface DomainEvent {
  type: string;
  data: object;
}

export interface Decider<State, Event extends DomainEvent, Command> {
  /** Prefix of the aggregate's stream ids, e.g. `order` for `order-<orderId>`. */
  aggregateType: string;
  initialState(): State;
  /** Folds one event into the state; unknown event types change nothing. */
  evolve(state: State, event: Event): State;
  /** The events a command produces, or a DomainError when the state does not allow it. */
  decide(command: Command, state: State): Event[];
}
