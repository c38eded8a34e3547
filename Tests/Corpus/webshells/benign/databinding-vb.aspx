<%@ Page Language="VB" %>
<asp:GridView id="g" runat="server" AutoGenerateColumns="false"><Columns><asp:TemplateField><ItemTemplate><%# Eval("Title") %></ItemTemplate></asp:TemplateField></Columns></asp:GridView>
