<%@ Page Language="C#" AutoEventWireup="true" %>
<asp:Repeater id="people" runat="server"><ItemTemplate><li><%# Eval("Name") %> (<%# Eval("Email") %>)</li></ItemTemplate></asp:Repeater>
