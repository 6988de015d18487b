// Every param takes an `{{ expression }}`: text fields as they are; numbers, booleans and
// choices get an "fx" toggle that swaps the control for a text box holding the expression
// (the engine renders it to the field's type when it runs; the preview shows the value).
import { getDefaultRegistry } from "@rjsf/core";
import type { RegistryWidgetsType, WidgetProps } from "@rjsf/utils";
import { useState, type ComponentType } from "react";

const base = getDefaultRegistry().widgets;

function isExpression(v: unknown): v is string {
  return typeof v === "string" && v.includes("{{");
}

function plainText(props: WidgetProps): boolean {
  const t = props.schema.type;
  const text = t === "string" || (Array.isArray(t) && t.includes("string"));
  return text && !props.schema.enum && !props.schema.format; // dates etc. get a picker: fx
}

function withExpression(Base: ComponentType<WidgetProps>): ComponentType<WidgetProps> {
  function ExpressionOr(props: WidgetProps) {
    const [on, setOn] = useState(isExpression(props.value));
    if (plainText(props)) return <Base {...props} />;
    const label = props.label || props.id;
    const locked = props.disabled || props.readonly;
    return (
      <div className="expr-field">
        {on ? (
          <input type="text" id={props.id} className="form-control" aria-label={`${label} expression`}
            placeholder="{{ item.value }}" disabled={locked}
            value={typeof props.value === "string" ? props.value : ""}
            onChange={(e) => props.onChange(e.target.value)}
            onBlur={() => props.onBlur(props.id, props.value)}
            onFocus={() => props.onFocus(props.id, props.value)} />
        ) : (
          <Base {...props} />
        )}
        <button type="button" className="fx" aria-pressed={on} disabled={locked}
          aria-label={`Use an expression for ${label}`} title="Use an {{ expression }}"
          onClick={() => {
            props.onChange(on ? undefined : "{{ item }}");
            setOn(!on);
          }}>
          fx
        </button>
      </div>
    );
  }
  ExpressionOr.displayName = `ExpressionOr(${Base.displayName ?? Base.name})`;
  return ExpressionOr;
}

export const EXPRESSION_WIDGETS: RegistryWidgetsType = {
  TextWidget: withExpression(base.TextWidget as ComponentType<WidgetProps>),
  UpDownWidget: withExpression(base.UpDownWidget as ComponentType<WidgetProps>),
  CheckboxWidget: withExpression(base.CheckboxWidget as ComponentType<WidgetProps>),
  SelectWidget: withExpression(base.SelectWidget as ComponentType<WidgetProps>),
  RadioWidget: withExpression(base.RadioWidget as ComponentType<WidgetProps>),
  DateWidget: withExpression(base.DateWidget as ComponentType<WidgetProps>),
  DateTimeWidget: withExpression(base.DateTimeWidget as ComponentType<WidgetProps>),
  TimeWidget: withExpression(base.TimeWidget as ComponentType<WidgetProps>),
};
