import { Select as SelectPrimitive } from "bits-ui";
import Content from "./select-content.svelte";
import Item from "./select-item.svelte";
import Trigger from "./select-trigger.svelte";

const Root = SelectPrimitive.Root;
const Value = SelectPrimitive.Value;
const Group = SelectPrimitive.Group;

export {
  Root,
  Value,
  Group,
  Content,
  Item,
  Trigger,
  Root as Select,
  Value as SelectValue,
  Group as SelectGroup,
  Content as SelectContent,
  Item as SelectItem,
  Trigger as SelectTrigger,
};
